/**
 * Summarise a V8 .cpuprofile (node --cpu-prof): self time by where the code
 * lives (an npm package, a Node core module, the app's own bundle, GC, idle),
 * and the top functions. Pure apart from reading the file.
 */
import fs from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}

function isProfile(v: unknown): v is { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] } {
  return typeof v === 'object' && v !== null && 'nodes' in v && Array.isArray(v.nodes) && 'samples' in v && Array.isArray(v.samples) && 'timeDeltas' in v && Array.isArray(v.timeDeltas);
}

/** Where a frame's code lives, as a short label. */
export function placeOf(f: CallFrame): string {
  const u = f.url;
  if (u === '') return f.functionName.startsWith('(') ? f.functionName : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u);
  if (nm?.[1]) return nm[1];
  if (u.startsWith('node:internal/')) return `node:internal/${u.slice(14).split('/').slice(0, 2).join('/').replace(/\.js$/, '')}`;
  if (u.startsWith('node:')) return u;
  if (/\/dist\//.test(u)) return 'app (dist)';
  return u.split('/').slice(-2).join('/');
}

export function summarise(file: string, top = 15): { totalMs: number; byPlace: Array<[string, number]>; byFunction: Array<[string, number]> } {
  const v: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!isProfile(v)) throw new Error(`${file} is not a .cpuprofile`);
  const byId = new Map(v.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < v.samples.length; i++) {
    const id = v.samples[i]!;
    self.set(id, (self.get(id) ?? 0) + (v.timeDeltas[i] ?? 0) / 1000);
  }
  const place = new Map<string, number>();
  const fn = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const p = placeOf(n.callFrame);
    if (p === '(idle)') continue;
    total += ms;
    place.set(p, (place.get(p) ?? 0) + ms);
    const key = `${n.callFrame.functionName || '(anonymous)'} ${p}:${n.callFrame.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + ms);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return { totalMs: total, byPlace: sorted(place), byFunction: sorted(fn) };
}
