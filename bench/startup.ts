/**
 * `npm run bench -- startup`: start-up time and idle memory of the built app
 * (dist/), each beside plain `node -e 0` measured in the same run (alternating
 * rounds, medians), against the budgets of the "Ship it" issue. Prints a table
 * and writes bench-results/startup.json. Exit code 1 when a budget is missed.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeUpstream } from '../test/fake-upstream/index.ts';

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

function timeRun(args: string[], env: NodeJS.ProcessEnv): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'ignore'], cwd: '/' });
  if (r.status !== 0 && args[0] !== '-e') throw new Error(`${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function waitFor(fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn().catch(() => false)) return;
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

const node: number[] = [];
const version: number[] = [];
const status: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  node.push(timeRun(['-e', '0'], env));
  version.push(timeRun([BIN, 'version'], env));
  status.push(timeRun([BIN, 'status'], env));
}

// run -> first /health 200, and its idle RSS.
const runMs: number[] = [];
const runRss: number[] = [];
for (let i = 0; i < Math.min(ROUNDS, 5); i++) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const t = process.hrtime.bigint();
  const child = spawn(process.execPath, [BIN, 'run', '--port', String(port)], { env, stdio: 'ignore', cwd: '/' });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200, 10_000);
  runMs.push(Number(process.hrtime.bigint() - t) / 1e6);
  await new Promise((r) => setTimeout(r, 1500)); // idle: timers settled, start-up garbage collectable
  if (child.pid) runRss.push(rssMb(child.pid));
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}
// The tray process (no DISPLAY here: it runs headless, its proxy child serving): its own idle RSS.
const trayRss: number[] = [];
for (let i = 0; i < 3; i++) {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const trayEnv: NodeJS.ProcessEnv = { ...env, GITHUB_COPILOT_SVCS_PORT: String(port) };
  delete trayEnv.DISPLAY;
  const tray = spawn(process.execPath, [BIN, 'tray'], { env: trayEnv, stdio: 'ignore', cwd: '/' });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`)).status === 200, 15_000);
  await new Promise((r) => setTimeout(r, 1500));
  if (tray.pid) trayRss.push(rssMb(tray.pid));
  tray.kill('SIGTERM');
  await new Promise((r) => tray.once('exit', r));
}
const nodeMs = median(node);
const rows: Row[] = [
  { what: 'node -e 0', value: nodeMs, baseline: null, budget: '-', ok: true, unit: 'ms' },
  { what: 'version', value: median(version), baseline: nodeMs, budget: 'node + 60 ms', ok: median(version) <= nodeMs + 60, unit: 'ms' },
  { what: 'status (no proxy running)', value: median(status), baseline: nodeMs, budget: 'node + 200 ms', ok: median(status) <= nodeMs + 200, unit: 'ms' },
  { what: 'run -> first /health 200', value: median(runMs), baseline: nodeMs, budget: 'node + 400 ms', ok: median(runMs) <= nodeMs + 400, unit: 'ms' },
  { what: 'run idle RSS', value: median(runRss), baseline: null, budget: '<= 60 MB', ok: median(runRss) <= 60, unit: 'MB' },
  { what: 'tray process idle RSS (headless; its child not counted)', value: median(trayRss), baseline: null, budget: '<= 50 MB', ok: median(trayRss) <= 50, unit: 'MB' },
];
await fake.close();
fs.rmSync(home, { recursive: true, force: true });

const fmt = (n: number, unit: string) => `${n.toFixed(unit === 'MB' ? 1 : 0)} ${unit}`;
console.log(`\nstart-up and idle memory (built dist/, ${ROUNDS} alternating rounds, medians; ${os.cpus().length} cores, node ${process.version})\n`);
console.log('| what | measured | node baseline | over node | budget | ok |');
console.log('|---|---:|---:|---:|---|---|');
for (const r of rows) {
  const over = r.baseline === null ? '-' : `+${(r.value - r.baseline).toFixed(0)} ms`;
  console.log(`| ${r.what} | ${fmt(r.value, r.unit)} | ${r.baseline === null ? '-' : fmt(r.baseline, 'ms')} | ${over} | ${r.budget} | ${r.ok ? 'yes' : 'NO'} |`);
}
fs.mkdirSync(path.join(root, 'bench-results'), { recursive: true });
fs.writeFileSync(path.join(root, 'bench-results', 'startup.json'), `${JSON.stringify({ node: process.version, rounds: ROUNDS, rows }, null, 2)}\n`);
export const startupOk = rows.every((r) => r.ok);
