/**
 * `npm run bench -- startup [--binary <path>]`: start-up time and idle memory
 * of the built app (dist/), each beside plain `node -e 0` measured in the same
 * run (alternating rounds, medians), against the budgets of the "Ship it"
 * issue. With a single-file binary (--binary, or release/github-copilot-svcs-<os>-<arch>
 * when it exists) the same figures for it, in the same rounds. Idle RSS is
 * split into anonymous memory (the process's own: heaps, buffers) and
 * file-backed pages (the node executable's code, shared between processes).
 * Prints a table and writes bench-results/startup.json. Exit code 1 when a
 * budget is missed.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeUpstream } from '../test/fake-upstream/index.ts';
import { rssOf, type Rss } from './proc.ts';

const root = path.resolve(import.meta.dirname, '..');
const BIN = path.join(root, 'dist', 'github-copilot-svcs.mjs');
const ROUNDS = Number(process.env.STARTUP_ROUNDS ?? 9);

interface Row {
  what: string;
  /** Median ms (or MB for memory rows). */
  value: number;
  baseline: number | null;
  budget: string;
  ok: boolean;
  unit: 'ms' | 'MB';
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

/** How to start one build of the app: node + dist/ bin, or the single-file binary. */
interface Subject {
  cmd: string;
  prefix: string[];
}

function timeRun(subject: Subject, args: string[], env: NodeJS.ProcessEnv): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(subject.cmd, [...subject.prefix, ...args], { env, stdio: ['ignore', 'ignore', 'ignore'], cwd: '/' });
  if (r.status !== 0 && args[0] !== '-e') throw new Error(`${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function binaryArg(): string | null {
  const i = process.argv.indexOf('--binary');
  if (i >= 0) {
    const p = process.argv[i + 1];
    if (!p || !fs.existsSync(p)) throw new Error('--binary needs the path of a built binary');
    return path.resolve(p);
  }
  const own = path.join(root, 'release', `github-copilot-svcs-${process.platform}-${process.arch}${process.platform === 'win32' ? '.exe' : ''}`);
  return fs.existsSync(own) ? own : null;
}

async function waitFor(fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (
      await fn().catch((err: unknown) => {
        if (err instanceof Error && err.message === 'exited') throw err;
        return false;
      })
    )
      return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('timed out');
}

if (!fs.existsSync(BIN)) throw new Error('dist/ is missing: run npm run build first');
const fake = await startFakeUpstream();
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-bench-startup-'));
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: home,
  GITHUB_COPILOT_SVCS_HOME: home,
  GITHUB_COPILOT_SVCS_KEYCHAIN: 'off',
  GITHUB_COPILOT_SVCS_GITHUB_URL: fake.url,
  GITHUB_COPILOT_SVCS_GITHUB_API_URL: fake.url,
  GITHUB_COPILOT_SVCS_COPILOT_API_URL: fake.url,
  GITHUB_COPILOT_SVCS_PORT: '1',
  GITHUB_COPILOT_SVCS_GITHUB_TOKEN: fake.createGithubToken(),
};

const NODE: Subject = { cmd: process.execPath, prefix: [] };
const DIST: Subject = { cmd: process.execPath, prefix: [BIN] };
const binaryPath = binaryArg();
const BINARY: Subject | null = binaryPath ? { cmd: binaryPath, prefix: [] } : null;

const node: number[] = [];
const times = { dist: { version: [] as number[], status: [] as number[] }, binary: { version: [] as number[], status: [] as number[] } };
for (let i = 0; i < ROUNDS; i++) {
  node.push(timeRun(NODE, ['-e', '0'], env));
  times.dist.version.push(timeRun(DIST, ['version'], env));
  times.dist.status.push(timeRun(DIST, ['status'], env));
  if (BINARY) {
    times.binary.version.push(timeRun(BINARY, ['version'], env));
    times.binary.status.push(timeRun(BINARY, ['status'], env));
  }
}

const medianRss = (xs: Rss[]): Rss => ({ rss: median(xs.map((x) => x.rss)), anon: median(xs.map((x) => x.anon)), file: median(xs.map((x) => x.file)) });

/** run -> first /health 200, and its idle RSS. */
async function measureRun(subject: Subject, rounds: number): Promise<{ ms: number; rss: Rss }> {
  const ms: number[] = [];
  const rss: Rss[] = [];
  for (let i = 0; i < rounds; i++) {
    // A random port can be taken (a socket left from the load bench): a child that exits before it answers
    // is started again on another port, and that start is what is timed.
    let child: ReturnType<typeof spawn> | undefined;
    let t = 0n;
    for (let attempt = 0; ; attempt++) {
      const port = 20000 + Math.floor(Math.random() * 12000);
      t = process.hrtime.bigint();
      const c = spawn(subject.cmd, [...subject.prefix, 'run', '--port', String(port)], { env, stdio: 'ignore', cwd: '/' });
      let exited = false;
      c.once('exit', () => {
        exited = true;
      });
      try {
        await waitFor(async () => {
          if (exited) throw new Error('exited');
          return (await fetch(`http://127.0.0.1:${port}/health`)).status === 200;
        }, 10_000);
        child = c;
        break;
      } catch (err) {
        c.kill('SIGKILL');
        if (attempt >= 2) throw err;
      }
    }
    if (!child) throw new Error('run did not start');
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    await new Promise((r) => setTimeout(r, 1500)); // idle: timers settled, start-up garbage collectable
    if (child.pid) rss.push(rssOf(child.pid));
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
  return { ms: median(ms), rss: medianRss(rss) };
}

/** The tray process (no DISPLAY here: it runs headless, its proxy child serving): its own idle RSS. */
async function measureTray(subject: Subject, rounds: number): Promise<Rss> {
  const rss: Rss[] = [];
  for (let i = 0; i < rounds; i++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const trayEnv: NodeJS.ProcessEnv = { ...env, GITHUB_COPILOT_SVCS_PORT: String(port) };
    delete trayEnv.DISPLAY;
    const tray = spawn(subject.cmd, [...subject.prefix, 'tray'], { env: trayEnv, stdio: 'ignore', cwd: '/' });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200, 15_000);
    await new Promise((r) => setTimeout(r, 1500));
    if (tray.pid) rss.push(rssOf(tray.pid));
    tray.kill('SIGTERM');
    await new Promise((r) => tray.once('exit', r));
  }
  return medianRss(rss);
}

/** The floor: a bare node holding an idle http server (Node's own ~40 MB of mapped binary and heap), its idle RSS. */
async function measureFloor(rounds: number): Promise<Rss> {
  const rss: Rss[] = [];
  for (let i = 0; i < rounds; i++) {
    const c = spawn(process.execPath, ['-e', "require('node:http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', () => console.log('up'))"], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((r) => c.stdout?.once('data', r));
    await new Promise((r) => setTimeout(r, 1500));
    if (c.pid) rss.push(rssOf(c.pid));
    c.kill('SIGTERM');
    await new Promise((r) => c.once('exit', r));
  }
  return medianRss(rss);
}

const floor = await measureFloor(3);
// #22: where Node itself makes a budget unreachable, the budget is the floor + 20 MB.
const runBudget = Math.max(60, floor.rss + 20);
const trayBudget = Math.max(50, floor.rss + 20);
const distRun = await measureRun(DIST, Math.min(ROUNDS, 5));
const distTray = await measureTray(DIST, 3);
const binRun = BINARY ? await measureRun(BINARY, Math.min(ROUNDS, 5)) : null;
const binTray = BINARY ? await measureTray(BINARY, 3) : null;
const nodeMs = median(node);
const rssNote = (r: Rss) => `anon ${r.anon.toFixed(1)} MB + file ${r.file.toFixed(1)} MB`;
function rowsFor(label: string, t: { version: number[]; status: number[] }, run: { ms: number; rss: Rss }, tray: Rss): Row[] {
  return [
    { what: `${label}version`, value: median(t.version), baseline: nodeMs, budget: 'node + 60 ms', ok: median(t.version) <= nodeMs + 60, unit: 'ms' },
    { what: `${label}status (no proxy running)`, value: median(t.status), baseline: nodeMs, budget: 'node + 200 ms', ok: median(t.status) <= nodeMs + 200, unit: 'ms' },
    { what: `${label}run -> first /health 200`, value: run.ms, baseline: nodeMs, budget: 'node + 400 ms', ok: run.ms <= nodeMs + 400, unit: 'ms' },
    { what: `${label}run idle RSS (${rssNote(run.rss)})`, value: run.rss.rss, baseline: null, budget: `<= ${runBudget.toFixed(0)} MB`, ok: run.rss.rss <= runBudget, unit: 'MB' },
    { what: `${label}tray process idle RSS (headless; ${rssNote(tray)})`, value: tray.rss, baseline: null, budget: `<= ${trayBudget.toFixed(0)} MB`, ok: tray.rss <= trayBudget, unit: 'MB' },
  ];
}
const rows: Row[] = [
  { what: 'node -e 0', value: nodeMs, baseline: null, budget: '-', ok: true, unit: 'ms' },
  { what: `floor: bare node with an idle http server, idle RSS (${rssNote(floor)}); budgets are the larger of the issue's and floor + 20 MB`, value: floor.rss, baseline: null, budget: '-', ok: true, unit: 'MB' },
  ...rowsFor('', times.dist, distRun, distTray),
  ...(BINARY && binRun && binTray ? rowsFor('binary: ', times.binary, binRun, binTray) : []),
];
await fake.close();
fs.rmSync(home, { recursive: true, force: true });

const fmt = (n: number, unit: string) => `${n.toFixed(unit === 'MB' ? 1 : 0)} ${unit}`;
console.log(`\nstart-up and idle memory (built dist/${BINARY ? ` and ${path.basename(BINARY.cmd)}` : ''}, ${ROUNDS} alternating rounds, medians; ${os.cpus().length} cores, node ${process.version})\n`);
console.log('| what | measured | node baseline | over node | budget | ok |');
console.log('|---|---:|---:|---:|---|---|');
for (const r of rows) {
  const over = r.baseline === null ? '-' : `+${(r.value - r.baseline).toFixed(0)} ms`;
  console.log(`| ${r.what} | ${fmt(r.value, r.unit)} | ${r.baseline === null ? '-' : fmt(r.baseline, 'ms')} | ${over} | ${r.budget} | ${r.ok ? 'yes' : 'NO'} |`);
}
fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true });
fs.writeFileSync(path.join(root, 'bench-results', 'startup.json'), `${JSON.stringify({ node: process.version, binary: BINARY ? path.basename(BINARY.cmd) : null, rounds: ROUNDS, rows }, null, 2)}\n`);
export const startupOk = rows.every((r) => r.ok);
