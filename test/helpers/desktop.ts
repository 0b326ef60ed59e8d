/**
 * A desktop for tests: Xvfb, a private session bus, trayer as the tray host,
 * and the process helpers the tray tests share.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export function which(cmd: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => {
    try {
      fs.accessSync(path.join(d, cmd), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 10_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export async function waitUntil<T>(what: string, fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 45_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * Start Xvfb on a display it picks itself (-displayfd), so parallel runs never share one.
 * `-noreset`: by default Xvfb resets when its last client disconnects, and a client connecting
 * during the reset is refused (trayer's "cannot open display" in 5 of 40 starts under load; 0 of 60 with it).
 */
export async function startXvfb(procs: ChildProcess[]): Promise<string> {
  const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1024x768x24', '-nolisten', 'tcp', '-noreset'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  procs.push(xvfb);
  let out = '';
  let err = '';
  (xvfb.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (out += d.toString()));
  xvfb.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const n = await waitUntil('Xvfb display number', () => (/^\d+\n/.test(out) ? out.trim() : xvfb.exitCode !== null ? Promise.reject(new Error(`Xvfb exited: ${err}`)) : undefined), 60_000);
  return `:${n}`;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); it holds nothing, but say it is gone only if reaped or a zombie.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/**
 * Live processes whose environment carries `marker` (NAME=value): everything
 * the tray started, however detached (xdg-open, xsel's daemon), and nothing the
 * test started itself.
 */
export function processesWith(marker: string): Array<{ pid: number; cmd: string }> {
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!fs.readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(marker)) continue;
      if (!alive(Number(d))) continue;
      out.push({ pid: Number(d), cmd: fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') });
    } catch {
      /* gone, or not ours */
    }
  }
  return out;
}
/** A clipboard helper (xsel, as clipboardy runs it, or xclip) serving a selection: the tray must leave none behind. */
export const isClipboardHelper = (p: { cmd: string }): boolean => /(^|\/)(xsel|xclip)( |$)/.test(p.cmd);

export async function killAndWait(p: ChildProcess | null): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}


/** A private D-Bus session bus (or 'disabled:' without dbus-daemon): without one, GTK/dbus autolaunch a daemon that outlives the test. */
export async function startSessionBus(procs: ChildProcess[]): Promise<string> {
  if (!which('dbus-daemon')) return 'disabled:';
  const dbus = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], { stdio: ['ignore', 'pipe', 'ignore'] });
  procs.push(dbus);
  let out = '';
  dbus.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  await waitUntil('dbus-daemon address', () => out.includes('\n'));
  return out.trim();
}

/** trayer as the tray host on the display in `env`, once its window is mapped. */
export async function startTrayer(procs: ChildProcess[], env: NodeJS.ProcessEnv): Promise<void> {
  const trayer = spawn('trayer', ['--edge', 'top', '--align', 'right', '--widthtype', 'pixel', '--width', '120', '--height', '32', '--transparent', 'false', '--tint', '0xffffff', '--SetDockType', 'true'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  procs.push(trayer);
  let stderr = '';
  trayer.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  // Generous: on a loaded 2-core CI box trayer can take a while to map its window. A trayer that
  // exited fails at once, with its own words (stop 34's CI waited 60 s on one that could not open the display).
  await waitUntil('trayer window', async () => {
    if (trayer.exitCode !== null) throw new Error(`trayer exited (${trayer.exitCode}): ${stderr.trim()}`);
    return (await run('xdotool', ['search', '--class', 'trayer'], env)).code === 0;
  }, 60_000);
}

export const TRAY_TOOLS = ['Xvfb', 'trayer', 'xdotool', 'import', 'xclip'];
/** A node:test skip reason when the desktop tools are missing, else false. */
export function desktopSkip(): string | false {
  const missing = process.platform === 'linux' ? TRAY_TOOLS.filter((t) => !which(t)) : ['linux'];
  return missing.length > 0 ? `needs ${missing.join(', ')} (apt-get install xvfb trayer xdotool imagemagick xclip libayatana-appindicator3-1 dbus)` : false;
}
