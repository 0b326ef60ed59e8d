/**
 * `npm run bench -- idle [--seconds 60]`: what the proxy costs when nobody
 * uses it (#22, "quiet when idle"): CPU seconds per minute and wake-ups per
 * second of `run` (signed in, against the fake upstream, so its token timers
 * are real), beside a bare `node` holding an idle http server (the floor),
 * measured over the same window. Wake-ups are the context switches of every
 * thread of the process (/proc/<pid>/task/<tid>/status: voluntary +
 * involuntary), CPU is utime + stime (/proc/<pid>/stat). Linux only.
 * Targets: ≤ 1 wake-up a second and ≤ 0.05 s CPU a minute. Writes
 * bench-results/idle.json; exit code 1 when a target is missed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeUpstream } from '../test/fake-upstream/index.ts';

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
    return true;
  }
  const seconds = secondsArg();
  const fake = await startFakeUpstream();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-bench-idle-'));
  const children: ChildProcess[] = [];
  try {
    fs.writeFileSync(path.join(home, 'tokens.json'), JSON.stringify({ github_token: fake.createGithubToken(), oauth_app: 'vscode' }), { mode: 0o600 });
    const env = {
      ...process.env,
      GITHUB_COPILOT_SVCS_HOME: home,
      GITHUB_COPILOT_SVCS_GITHUB_URL: fake.url,
      GITHUB_COPILOT_SVCS_GITHUB_API_URL: fake.url,
      GITHUB_COPILOT_SVCS_COPILOT_API_URL: fake.url,
      GITHUB_COPILOT_SVCS_KEYCHAIN: 'off',
      NODE_OPTIONS: '',
    };
    const proxy = spawn(process.execPath, [BIN, 'run', '--port', '0'], { env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
    const floor = spawn(process.execPath, ['-e', "require('node:http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', () => console.log('listening'))"], {
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(proxy, floor);
    await Promise.all([waitForLine(proxy, /listening on/, 20_000), waitForLine(floor, /listening/, 20_000)]);
    // Let start-up settle (token exchange, the first model list, and the one GC V8's memory reducer
    // runs some 15-20 s after start-up), then measure both over the same window.
    await new Promise((r) => setTimeout(r, 25_000));
    const subjects: Array<[string, ChildProcess]> = [
      ['github-copilot-svcs run (signed in, idle)', proxy],
      ['floor: bare node with an idle http server', floor],
    ];
    const before = subjects.map(([, c]) => sample(c.pid ?? 0));
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const after = subjects.map(([, c]) => sample(c.pid ?? 0));
    const rows = subjects.map(([what], i) => {
      const a = before[i] ?? { cpuSec: 0, switches: 0 };
      const b = after[i] ?? { cpuSec: 0, switches: 0 };
      return { what, cpuSecPerMin: ((b.cpuSec - a.cpuSec) * 60) / seconds, wakeupsPerSec: (b.switches - a.switches) / seconds };
    });
    const ours = rows[0];
    const ok = ours !== undefined && ours.wakeupsPerSec <= 1 && ours.cpuSecPerMin <= 0.05;
    console.log(`\nIdle cost over ${seconds} s, node ${process.version}, ${os.cpus().length} cores (targets for ours: ≤ 1 wake-up/s, ≤ 0.05 s CPU/min)\n`);
    console.log('| process | CPU s per minute | wake-ups per second |');
    console.log('|---|---:|---:|');
    for (const r of rows) console.log(`| ${r.what} | ${r.cpuSecPerMin.toFixed(3)} | ${r.wakeupsPerSec.toFixed(2)} |`);
    console.log(`\nidle targets: ${ok ? 'met' : 'MISSED'}`);
    const out = path.join(root, 'bench-results');
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'idle.json'), `${JSON.stringify({ seconds, node: process.version, rows, ok }, null, 2)}\n`);
    return ok;
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await fake.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}
