/**
 * `npm run bench -- idle [--seconds 60]`: what the proxy costs when nobody
 * uses it (#22, "quiet when idle"): CPU seconds per minute and wake-ups per
 * second of `run` (signed in, against the bench's Copilot stand-in over TLS as
 * GitHub is reached, so its token timers are real and OpenSSL's share of the
 * memory counts), beside a bare `node` holding an idle http server (the floor),
 * measured over the same window; and the tray process (headless) and its
 * proxy child, each held to the same targets. Wake-ups are the context switches of every
 * thread of the process (/proc/<pid>/task/<tid>/status: voluntary +
 * involuntary), CPU is utime + stime (/proc/<pid>/stat). Linux only.
 * Targets: ≤ 1 wake-up a second and ≤ 0.05 s CPU a minute. Each one's
 * resident memory at the end of the window too (after V8's memory reducer has
 * run, as it does in a proxy left idle), against the issue's budgets: `run` and
 * the child ≤ 60 MB, the tray process ≤ 50 MB, or the floor + 20 MB where Node
 * alone makes those unreachable. Writes bench-results/idle.json; exit code 1
 * when a target is missed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_GITHUB_TOKEN, cert, makeCert, need, removeBenchFiles, startUpstream, stop, type Proc } from './load.ts';
import { rssOf } from './proc.ts';

const root = path.resolve(import.meta.dirname, '..');
const BIN = path.join(root, 'dist', 'github-copilot-svcs.mjs');
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface Sample {
  cpuSec: number;
  switches: number;
}

/** CPU seconds and context switches of every thread of `pid`, now. */
function sample(pid: number): Sample {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  let switches = 0;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const status = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      switches += Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
      switches += Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      /* a thread that ended meanwhile */
    }
  }
  return { cpuSec: ticks / TICKS_PER_SECOND, switches };
}

function secondsArg(): number {
  const i = process.argv.indexOf('--seconds');
  const v = i >= 0 ? Number(process.argv[i + 1]) : 60;
  if (!Number.isFinite(v) || v < 5) throw new Error('--seconds must be at least 5');
  return v;
}

async function waitForLine(child: ChildProcess, re: RegExp, timeoutMs: number): Promise<void> {
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not see ${re}: ${out}`)), timeoutMs);
    const on = (d: Buffer) => {
      out += d.toString();
      if (re.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.on('exit', () => reject(new Error(`exited: ${out}`)));
  });
}

export async function runIdleBench(): Promise<boolean> {
  if (process.platform !== 'linux') {
    console.log('idle bench: Linux only (/proc)');
    removeBenchFiles();
    return true;
  }
  const seconds = secondsArg();
  need('openssl', 'openssl');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-bench-idle-'));
  const children: ChildProcess[] = [];
  const homes: string[] = [];
  let upstreamProc: Proc | null = null;
  try {
    makeCert();
    const upstream = await startUpstream();
    upstreamProc = upstream.proc;
    fs.writeFileSync(path.join(home, 'tokens.json'), JSON.stringify({ github_token: BENCH_GITHUB_TOKEN, oauth_app: 'vscode' }), { mode: 0o600 });
    const env = {
      ...process.env,
      GITHUB_COPILOT_SVCS_HOME: home,
      GITHUB_COPILOT_SVCS_GITHUB_URL: upstream.url,
      GITHUB_COPILOT_SVCS_GITHUB_API_URL: upstream.url,
      GITHUB_COPILOT_SVCS_COPILOT_API_URL: upstream.url,
      GITHUB_COPILOT_SVCS_KEYCHAIN: 'off',
      NODE_EXTRA_CA_CERTS: cert,
      NODE_OPTIONS: '',
    };
    const proxy = spawn(process.execPath, [BIN, 'run', '--port', '0'], { env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    const floor = spawn(process.execPath, ['-e', "require('node:http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', () => console.log('listening'))"], {
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The tray process (headless: no DISPLAY here, so no systray2 helper; its proxy child serves).
    const trayHome = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-bench-idle-tray-'));
    homes.push(trayHome);
    fs.copyFileSync(path.join(home, 'tokens.json'), path.join(trayHome, 'tokens.json'));
    const trayPort = 20000 + Math.floor(Math.random() * 20000);
    const trayEnv: NodeJS.ProcessEnv = { ...env, GITHUB_COPILOT_SVCS_HOME: trayHome, GITHUB_COPILOT_SVCS_PORT: String(trayPort) };
    delete trayEnv.DISPLAY;
    delete trayEnv.WAYLAND_DISPLAY;
    const tray = spawn(process.execPath, [BIN, 'tray'], { env: trayEnv, cwd: '/', stdio: ['ignore', 'ignore', 'ignore'] });
    children.push(proxy, floor, tray);
    await Promise.all([waitForLine(proxy, /listening on/, 20_000), waitForLine(floor, /listening/, 20_000), waitForHealth(trayPort, 20_000)]);
    const trayChild = Number(fs.readFileSync(`/proc/${tray.pid ?? 0}/task/${tray.pid ?? 0}/children`, 'utf8').trim().split(/\s+/)[0]);
    // Let start-up settle (token exchange, the first model list, and the one GC V8's memory reducer
    // runs some 15-20 s after start-up), then measure both over the same window.
    await new Promise((r) => setTimeout(r, 25_000));
    const subjects: Array<[string, number, boolean]> = [
      ['github-copilot-svcs run (signed in, idle)', proxy.pid ?? 0, true],
      ['tray process (headless: no systray2 helper)', tray.pid ?? 0, true],
      ["the tray's proxy child", trayChild, true],
      ['floor: bare node with an idle http server', floor.pid ?? 0, false],
    ];
    const before = subjects.map(([, pid]) => sample(pid));
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const after = subjects.map(([, pid]) => sample(pid));
    // Resident memory at the end of the idle window: what a tray app holds all day.
    const rss = subjects.map(([, pid]) => rssOf(pid));
    const floorRss = rss[3]?.rss ?? NaN;
    // The budgets (#22), or the floor + 20 MB where Node alone makes them unreachable.
    const budgetOf = (what: string): number => Math.max(what.startsWith('tray process') ? 50 : 60, floorRss + 20);
    const rows = subjects.map(([what, , ours], i) => {
      const a = before[i] ?? { cpuSec: 0, switches: 0 };
      const b = after[i] ?? { cpuSec: 0, switches: 0 };
      const m = rss[i] ?? { rss: NaN, anon: NaN, file: NaN };
      return {
        what,
        ours,
        cpuSecPerMin: ((b.cpuSec - a.cpuSec) * 60) / seconds,
        wakeupsPerSec: (b.switches - a.switches) / seconds,
        rssMb: m.rss,
        anonMb: m.anon,
        fileMb: m.file,
        rssBudgetMb: ours ? budgetOf(what) : null,
      };
    });
    // Per process (#22): each of ours is held to the targets.
    const quiet = rows.every((r) => !r.ours || (r.wakeupsPerSec <= 1 && r.cpuSecPerMin <= 0.05));
    const lean = rows.every((r) => r.rssBudgetMb === null || r.rssMb <= r.rssBudgetMb);
    console.log(
      `\nIdle cost over ${seconds} s, after 25 s of settling, node ${process.version}, ${os.cpus().length} cores (targets for ours: ≤ 1 wake-up/s, ≤ 0.05 s CPU/min; RSS ≤ 60 MB, the tray process ≤ 50 MB, or the floor + 20 MB)\n`,
    );
    console.log('| process | CPU s per minute | wake-ups per second | RSS MB (own + file-backed) | RSS budget MB |');
    console.log('|---|---:|---:|---:|---:|');
    for (const r of rows)
      console.log(
        `| ${r.what} | ${r.cpuSecPerMin.toFixed(3)} | ${r.wakeupsPerSec.toFixed(2)} | ${r.rssMb.toFixed(1)} (${r.anonMb.toFixed(1)} + ${r.fileMb.toFixed(1)}) | ${r.rssBudgetMb === null ? '-' : r.rssBudgetMb.toFixed(0)} |`,
      );
    console.log(`\nidle CPU and wake-up targets: ${quiet ? 'met' : 'MISSED'}; idle memory budgets: ${lean ? 'met' : 'MISSED'}`);
    const ok = quiet && lean;
    const out = path.join(root, 'bench-results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'idle.json'), `${JSON.stringify({ seconds, node: process.version, rows, quiet, lean, ok }, null, 2)}\n`);
    return ok;
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await stop(upstreamProc);
    removeBenchFiles();
    fs.rmSync(home, { recursive: true, force: true });
    for (const h of homes) fs.rmSync(h, { recursive: true, force: true });
  }
}

async function waitForHealth(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the tray's proxy did not answer on ${port}`);
}
