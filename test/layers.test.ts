import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

// DESIGN.md: `tray/` and `proxy/` never import each other; they meet in `ipc/`. Checked transitively.
const SRC = path.resolve(import.meta.dirname, '..', 'src');

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s(?:[^;]*?from\s+)?'(\.[^']+)'/g)) {
    if (/^\s*(?:import|export)\s+type\s/.test(m[0].trim()) || !m[1]) continue;
    out.push(path.resolve(path.dirname(file), m[1]));
  }
  for (const m of text.matchAll(/import\('(\.[^']+)'\)/g)) if (m[1]) out.push(path.resolve(path.dirname(file), m[1]));
  return out.filter((p) => p.endsWith('.ts') && fs.existsSync(p));
}

function reach(start: string): Map<string, string> {
  const via = new Map<string, string>([[start, start]]);
  const todo = [start];
  for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
    for (const next of importsOf(f)) {
      if (via.has(next)) continue;
      via.set(next, f);
      todo.push(next);
    }
  }
  return via;
}

const files = (dir: string) =>
  fs
    .readdirSync(path.join(SRC, dir))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => path.join(SRC, dir, f));

for (const [from, forbidden] of [
  ['tray', 'proxy'],
  ['proxy', 'tray'],
] as const) {
  test(`src/${from}/ never reaches src/${forbidden}/ through its (non-type) imports`, () => {
    for (const f of files(from)) {
      for (const [dep, parent] of reach(f)) {
        assert.ok(!dep.startsWith(path.join(SRC, forbidden) + path.sep), `${path.relative(SRC, f)} reaches ${path.relative(SRC, dep)} (imported by ${path.relative(SRC, parent)})`);
      }
    }
  });
}
