import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { connectX11, getSelectionOwner, internAtom, parseDisplay, type X11Connection } from './x11.ts';

/**
 * Is there something on screen that shows tray icons? systray2's helper
 * starts, and says it is ready, whether or not anything will ever show its
 * icon (the default GNOME desktop has no tray). Two kinds of host exist on
 * Linux: a StatusNotifierWatcher on the session bus (KDE, the GNOME
 * AppIndicator extension, waybar…; libayatana-appindicator registers there)
 * and an XEmbed system tray (the owner of the `_NET_SYSTEM_TRAY_S<screen>`
 * selection, freedesktop System Tray spec; trayer, xfce4-panel, stalonetray…).
 * The probe never throws: a question it cannot answer is "unknown", with why.
 */

export type TrayHost = { kind: 'sni' } | { kind: 'xembed'; display: string } | { kind: 'native'; name: string };

export type TrayHostProbe =
  | { kind: 'found'; hosts: TrayHost[] }
  /** Every way a tray could show was checked, and none is there. */
  | { kind: 'none'; checked: string[] }
  | { kind: 'unknown'; reason: string };

/** One kind of host: found, checked and absent (with what was seen), or not answerable. */
export type HostCheck = { kind: 'found'; host: TrayHost } | { kind: 'none'; detail: string } | { kind: 'unknown'; reason: string };

export const STATUS_NOTIFIER_WATCHER = 'org.kde.StatusNotifierWatcher';

export interface ExecResult {
  /** null when it did not exit by itself (timeout, could not start). */
  code: number | null;
  stdout: string;
  stderr: string;
}
export type ExecFn = (file: string, args: string[], opts: { env: NodeJS.ProcessEnv; timeoutMs: number }) => Promise<ExecResult>;

export interface ProbeOptions {
  env: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  /** Per check; both run at once. */
  timeoutMs?: number;
  exec?: ExecFn;
  /** A program's path on $PATH, or null. */
  which?: (cmd: string, env: NodeJS.ProcessEnv) => string | null;
  fileExists?: (p: string) => boolean;
  connect?: typeof connectX11;
}

// ---- pure parts ----

export function describeTrayHost(h: TrayHost): string {
  switch (h.kind) {
    case 'sni':
      return 'StatusNotifierWatcher (session bus)';
    case 'xembed':
      return `XEmbed tray on ${h.display}`;
    case 'native':
      return h.name;
  }
}

/** Found if any check found a host; none only when every check answered "none". */
export function combineChecks(checks: HostCheck[]): TrayHostProbe {
  const hosts = checks.flatMap((c) => (c.kind === 'found' ? [c.host] : []));
  if (hosts.length > 0) return { kind: 'found', hosts };
  const unknown = checks.flatMap((c) => (c.kind === 'unknown' ? [c.reason] : []));
  if (unknown.length > 0) return { kind: 'unknown', reason: unknown.join('; ') };
  return { kind: 'none', checked: checks.flatMap((c) => (c.kind === 'none' ? [c.detail] : [])) };
}

/**
 * The session bus to ask, never one that a D-Bus client would autolaunch (an
 * autolaunched bus has no watcher, and its daemon outlives us): the address
 * in the env, else the systemd user bus when its socket exists. Null: there is none.
 */
export function sessionBusAddress(env: NodeJS.ProcessEnv, fileExists: (p: string) => boolean): string | null {
  const a = env.DBUS_SESSION_BUS_ADDRESS;
  if (a !== undefined && a !== '') return a.startsWith('disabled:') || a.startsWith('autolaunch:') ? null : a;
  const runtime = env.XDG_RUNTIME_DIR;
  // XDG_RUNTIME_DIR and D-Bus addresses are POSIX paths whatever system runs the tests.
  if (runtime && fileExists(path.posix.join(runtime, 'bus'))) return `unix:path=${path.posix.join(runtime, 'bus')}`;
  return null;
}

/** NameHasOwner's answer as `dbus-send --print-reply=literal` (`   boolean true`) or `gdbus call` (`(true,)`) prints it. */
export function parseNameHasOwner(stdout: string): boolean | null {
  const m = /\bboolean\s+(true|false)\b/.exec(stdout) ?? /^\s*\((true|false),?\)\s*$/m.exec(stdout);
  return m ? m[1] === 'true' : null;
}

/** The command that asks the bus whether the watcher's name has an owner, with a reply timeout. */
export function nameHasOwnerCommand(tool: 'dbus-send' | 'gdbus', toolPath: string, timeoutMs: number): { file: string; args: string[] } {
  if (tool === 'dbus-send') {
    return {
      file: toolPath,
      args: ['--session', '--print-reply=literal', `--reply-timeout=${timeoutMs}`, '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', `string:${STATUS_NOTIFIER_WATCHER}`],
    };
  }
  return {
    file: toolPath,
    args: ['call', '--session', '--timeout', String(Math.max(1, Math.ceil(timeoutMs / 1000))), '--dest', 'org.freedesktop.DBus', '--object-path', '/org/freedesktop/DBus', '--method', 'org.freedesktop.DBus.NameHasOwner', STATUS_NOTIFIER_WATCHER],
  };
}

const isGnome = (env: NodeJS.ProcessEnv): boolean => /(^|:)(GNOME|ubuntu)(-[\w-]+)?(:|$)/i.test(env.XDG_CURRENT_DESKTOP ?? env.XDG_SESSION_DESKTOP ?? env.DESKTOP_SESSION ?? '');

/** What to do so the icon shows, for the desktop in `env`; `command` is how this program was started (the CLI's ctx.command). Pure. */
export function noTrayHostAdvice(env: NodeJS.ProcessEnv, command = 'github-copilot-svcs'): string {
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return `the tray needs a desktop session; on a server use \`${command} run\``;
  if (isGnome(env)) {
    return 'install and enable the GNOME Shell extension "AppIndicator and KStatusNotifierItem Support" (Debian/Ubuntu: sudo apt install gnome-shell-extension-appindicator), then log out and back in';
  }
  return 'run a panel with a system tray (StatusNotifierItem or XEmbed), such as the one of KDE Plasma, Xfce, LXQt or MATE';
}

/** `status`'s line. Pure. */
export function trayHostLine(p: TrayHostProbe, env: NodeJS.ProcessEnv, command?: string): string {
  switch (p.kind) {
    case 'found':
      return `Tray host: ${p.hosts.map(describeTrayHost).join(', ')}`;
    case 'none':
      return `Tray host: none found — ${noTrayHostAdvice(env, command)}`;
    case 'unknown':
      return `Tray host: unknown (${p.reason})`;
  }
}

/** What the tray says when nothing shows its icon: a log line, and a notification. Pure. */
export function noTrayHostMessages(p: Extract<TrayHostProbe, { kind: 'none' }>, env: NodeJS.ProcessEnv): { log: string; title: string; message: string } {
  const advice = noTrayHostAdvice(env);
  return {
    log: `No tray host found (${p.checked.join('; ')}): the tray icon will not show. To see it, ${advice}. The proxy keeps running; the dashboard opens in the browser instead.`,
    title: 'GitHub Copilot proxy: no system tray',
    message: `Its icon cannot show: ${advice}. The proxy runs; its dashboard opens in your browser.`,
  };
}

// ---- the checks (I/O) ----

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function whichOnPath(cmd: string, env: NodeJS.ProcessEnv): string | null {
  for (const d of (env.PATH ?? '').split(path.delimiter)) {
    if (!d) continue;
    const p = path.join(d, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

export const execWithTimeout: ExecFn = (file, args, opts) =>
  new Promise((resolve) => {
    execFile(file, args, { env: opts.env, timeout: opts.timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr || (err && code === null ? err.message : '')) });
    });
  });

/** Is `org.kde.StatusNotifierWatcher` owned on the session bus? Asked with dbus-send (package dbus-bin) or gdbus (libglib2.0-bin). */
export async function checkStatusNotifierWatcher(o: ProbeOptions): Promise<HostCheck> {
  const fileExists = o.fileExists ?? ((p: string) => fs.existsSync(p));
  const address = sessionBusAddress(o.env, fileExists);
  if (!address) return { kind: 'none', detail: 'no session bus' };
  const which = o.which ?? whichOnPath;
  const tool = (['dbus-send', 'gdbus'] as const).map((t) => ({ t, p: which(t, o.env) })).find((x) => x.p !== null);
  if (!tool?.p) return { kind: 'unknown', reason: 'neither dbus-send nor gdbus is installed to ask the session bus' };
  const timeoutMs = o.timeoutMs ?? 1500;
  const cmd = nameHasOwnerCommand(tool.t, tool.p, timeoutMs);
  const r = await (o.exec ?? execWithTimeout)(cmd.file, cmd.args, { env: { ...o.env, DBUS_SESSION_BUS_ADDRESS: address }, timeoutMs: timeoutMs + 500 });
  const owned = r.code === 0 ? parseNameHasOwner(r.stdout) : null;
  if (owned === true) return { kind: 'found', host: { kind: 'sni' } };
  if (owned === false) return { kind: 'none', detail: 'no StatusNotifierWatcher on the session bus' };
  const why = (r.stderr || r.stdout).trim().split('\n')[0] ?? '';
  // A bus address nobody answers on is no bus: nothing can register an icon there either.
  if (/Failed to (open|connect)|Could not connect|No such file|Connection refused/i.test(why)) return { kind: 'none', detail: `the session bus does not answer (${why})` };
  return { kind: 'unknown', reason: `the session bus did not say whether a StatusNotifierWatcher runs (${r.code === null ? 'no answer in time' : why || `exit ${r.code}`})` };
}

/** Does anyone own `_NET_SYSTEM_TRAY_S<screen>` on $DISPLAY? */
export async function checkXEmbedTray(o: ProbeOptions): Promise<HostCheck> {
  const display = o.env.DISPLAY;
  if (!display) return { kind: 'none', detail: 'no X display' };
  const d = parseDisplay(display);
  if (!d) return { kind: 'unknown', reason: `DISPLAY=${JSON.stringify(display)} is not a display name` };
  const timeoutMs = o.timeoutMs ?? 1500;
  const held: { conn: X11Connection | null; done: boolean } = { conn: null, done: false };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HostCheck>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'unknown', reason: `the X server ${display} did not answer within ${timeoutMs} ms` }), timeoutMs);
  });
  const ask = (async (): Promise<HostCheck> => {
    try {
      const conn = await (o.connect ?? connectX11)({ env: o.env, timeoutMs });
      held.conn = conn;
      // A connection that was still opening when the timeout won closes as soon as it is there.
      if (held.done) throw new Error('timed out');
      // only-if-exists: a selection nobody ever created has no owner, and we need not create its atom.
      const atom = await internAtom(conn, `_NET_SYSTEM_TRAY_S${d.screen}`, true);
      const owner = atom === 0 ? 0 : await getSelectionOwner(conn, atom);
      return owner !== 0 ? { kind: 'found', host: { kind: 'xembed', display } } : { kind: 'none', detail: `no XEmbed tray on ${display}` };
    } catch (err) {
      return { kind: 'unknown', reason: `could not ask the X server: ${errorText(err)}` };
    } finally {
      if (held.done) held.conn?.close();
    }
  })();
  try {
    return await Promise.race([ask, timeout]);
  } finally {
    held.done = true;
    clearTimeout(timer);
    held.conn?.close();
  }
}

/** Both checks at once (each bounded by its timeout). Never throws. */
export async function probeTrayHost(o: ProbeOptions): Promise<TrayHostProbe> {
  const platform = o.platform ?? process.platform;
  if (platform === 'darwin') return { kind: 'found', hosts: [{ kind: 'native', name: 'the macOS menu bar' }] };
  if (platform === 'win32') return { kind: 'found', hosts: [{ kind: 'native', name: 'the Windows notification area' }] };
  const settle = (p: Promise<HostCheck>): Promise<HostCheck> => p.catch((err: unknown) => ({ kind: 'unknown', reason: errorText(err) }));
  return combineChecks(await Promise.all([settle(checkStatusNotifierWatcher(o)), settle(checkXEmbedTray(o))]));
}

/**
 * At login the tray may start before the panel that hosts it: a "none" is
 * asked again every `intervalMs` until `graceMs` has passed. Found or unknown
 * ends the wait at once.
 */
export async function waitForTrayHost(
  probe: () => Promise<TrayHostProbe>,
  o: { graceMs: number; intervalMs: number; now?: () => number; sleep?: (ms: number) => Promise<void>; signal?: AbortSignal },
): Promise<TrayHostProbe> {
  const now = o.now ?? Date.now;
  const sleep =
    o.sleep ??
    ((ms: number) =>
      new Promise<void>((r) => {
        const t = setTimeout(r, ms);
        o.signal?.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
      }));
  const end = now() + o.graceMs;
  for (;;) {
    const p = await probe();
    if (p.kind !== 'none' || now() >= end || o.signal?.aborted) return p;
    await sleep(Math.min(o.intervalMs, Math.max(0, end - now())));
  }
}
