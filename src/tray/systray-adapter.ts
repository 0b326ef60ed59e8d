import fs from 'node:fs';
import path from 'node:path';
import systray2, { type ClickEvent, type Menu as SysMenu, type MenuItem as SysMenuItem } from 'systray2';
import type { Logger } from '../log.ts';
import { ensureTrayBinaryExecutable, trayHelper } from './tray-binary.ts';
import { assignIds, changedKeys, flattenItems, type IconKind, type ItemKey, type TrayMenu, type TrayMenuItem } from './tray-menu.ts';

/**
 * systray2, the only place that knows it: starting its helper binary (or
 * finding that it cannot run), sending a new menu as the fewest item updates,
 * and stopping it.
 */

// systray2 is CommonJS with `exports.default`; from ESM the class sits on `.default` of the namespace.
type SysTrayClass = typeof systray2.default;
const SysTray: SysTrayClass = systray2.default ?? (systray2 as unknown as SysTrayClass);
export type SysTrayInstance = InstanceType<SysTrayClass>;

const ICON_FILE: Record<'linux' | 'darwin' | 'win32', (k: IconKind) => string> = {
  linux: (k) => `tray-${k}-32.png`,
  darwin: (k) => `tray-${k}-Template@2x.png`,
  win32: (k) => `tray-${k}.ico`,
};

export function iconFile(platform: NodeJS.Platform, kind: IconKind): string {
  const f = platform === 'darwin' || platform === 'win32' ? ICON_FILE[platform] : ICON_FILE.linux;
  return f(kind);
}

export function loadIcons(dir: string, platform: NodeJS.Platform): Record<IconKind, string> {
  const kinds: IconKind[] = ['healthy', 'warning', 'error', 'stopped'];
  return Object.fromEntries(kinds.map((k) => [k, fs.readFileSync(path.join(dir, iconFile(platform, k))).toString('base64')])) as Record<
    IconKind,
    string
  >;
}

function toSysItem(it: TrayMenuItem, ids: Map<ItemKey, number>, withChildren: boolean): SysMenuItem & { __id: number } {
  const out: SysMenuItem & { __id: number } = {
    title: it.title,
    tooltip: it.tooltip,
    checked: it.checked,
    enabled: it.enabled,
    hidden: it.hidden,
    __id: ids.get(it.key) ?? 0,
  };
  // Only the first menu carries submenus. An update-item with `items` makes the
  // binary Show() every child again, hidden model slots included.
  if (withChildren && it.items) out.items = it.items.map((c) => toSysItem(c, ids, true));
  return out;
}

/** Send what changed between the menu on screen and `menu` (item updates, then icon/tooltip). */
export function sendMenu(tray: SysTrayInstance, sent: TrayMenu, menu: TrayMenu, ids: Map<ItemKey, number>, icons: Record<IconKind, string>, platform: NodeJS.Platform): void {
  const flat = new Map(flattenItems(menu.items).map((i) => [i.key, i]));
  for (const key of changedKeys(sent, menu)) {
    const it = flat.get(key);
    if (it) void tray.sendAction({ type: 'update-item', item: toSysItem(it, ids, false), seq_id: -1 });
  }
  if (menu.icon !== sent.icon || menu.tooltip !== sent.tooltip) {
    void tray.sendAction({
      type: 'update-menu',
      menu: { icon: icons[menu.icon], title: menu.title, tooltip: menu.tooltip, items: [], isTemplateIcon: platform === 'darwin' },
    });
  }
}

/** Stop the helper binary: politely, then SIGKILL after 2 s. */
export async function stopSysTray(tray: SysTrayInstance, timers: Set<NodeJS.Timeout>): Promise<void> {
  const proc = tray.process;
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  // kill(false): systray2's default kill(true) calls process.exit() itself.
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await Promise.race([
    tray.kill(false).catch(() => undefined),
    new Promise<void>((r) => {
      const t = setTimeout(r, 2000);
      timers.add(t);
    }),
  ]);
  if (proc.exitCode === null && proc.signalCode === null) {
    proc.kill('SIGKILL');
    await exited;
  }
}

export interface StartSysTrayOptions {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  log: Logger;
  menu: TrayMenu;
  icons: Record<IconKind, string>;
  readyTimeoutMs: number;
  onClick: (ev: ClickEvent) => void;
  onUnexpectedExit: (code: number | null, signal: NodeJS.Signals | null) => void;
}

export type StartResult =
  | { tray: SysTrayInstance; menu: TrayMenu; ids: Map<ItemKey, number>; reason: null }
  | { tray: null; menu: null; ids: null; reason: string };

/**
 * Start systray2's binary. `ready()` never settles when the binary dies early
 * (no display, no tray host libraries), so it is raced with the binary's exit
 * and a timeout; on any failure the binary is killed and the caller runs headless.
 */
export async function startSysTray(o: StartSysTrayOptions): Promise<StartResult> {
  if (o.platform === 'linux' && !o.env.DISPLAY && !o.env.WAYLAND_DISPLAY) return { tray: null, menu: null, ids: null, reason: 'no DISPLAY or WAYLAND_DISPLAY' };
  // The single-file binary's helper comes from its cache dir, which may be refused (a symlinked
  // component, another user's file): then the tray runs headless and says why; it does not exit.
  let copyDir: string | false;
  try {
    const chmodProblem = ensureTrayBinaryExecutable(o.platform);
    if (chmodProblem) o.log.warn(chmodProblem);
    copyDir = trayHelper(o.platform)?.copyDir ?? false;
  } catch (err) {
    return { tray: null, menu: null, ids: null, reason: `the tray helper cannot be used: ${err instanceof Error ? err.message : String(err)}` };
  }

  const ids = assignIds(o.menu.items);
  const initial: SysMenu = {
    icon: o.icons[o.menu.icon],
    title: o.menu.title,
    tooltip: o.menu.tooltip,
    isTemplateIcon: o.platform === 'darwin',
    items: o.menu.items.map((i) => toSysItem(i, ids, true)),
  };
  let tray: SysTrayInstance;
  try {
    // Never `debug: true`: it looks for a tray_*_debug binary that the package does not ship.
    tray = new SysTray({ menu: initial, debug: false, copyDir });
  } catch (err) {
    return { tray: null, menu: null, ids: null, reason: `could not start the tray binary: ${(err as Error).message}` };
  }
  const ready = tray.ready().then(
    () => ({ ok: true as const }),
    (err: unknown) => ({ ok: false as const, reason: `tray binary failed: ${err instanceof Error ? err.message : String(err)}` }),
  );

  // systray2 spawns the binary after a few async fs calls; wait for the process to drain its stderr.
  const deadline = Date.now() + o.readyTimeoutMs;
  while (!tray.process && Date.now() < deadline) {
    const settled = await Promise.race([ready, new Promise<null>((r) => setTimeout(() => r(null), 10))]);
    if (settled && !settled.ok) return { tray: null, menu: null, ids: null, reason: settled.reason };
  }
  const proc = tray.process;
  if (!proc) return { tray: null, menu: null, ids: null, reason: 'the tray binary did not start' };
  // The binary quits by itself on SIGINT/SIGTERM (Ctrl-C reaches the whole process group):
  // a later write to its stdin must not become an unhandled EPIPE.
  proc.stdin?.on('error', (err) => o.log.debug(`tray binary stdin: ${err.message}`));
  // Undrained, GTK's warnings would fill the pipe and block the binary.
  proc.stderr?.on('data', (d: Buffer) => {
    const text = d.toString('utf8').trim();
    if (text) o.log.debug(`[systray] ${text}`);
  });
  proc.on('error', (err) => o.log.warn(`tray binary: ${err.message}`));

  let timer: NodeJS.Timeout | undefined;
  const exited = new Promise<{ ok: false; reason: string }>((r) =>
    proc.once('exit', (code, signal) => r({ ok: false, reason: `the tray binary exited (${signal ?? `code ${code}`}) before it was ready` })),
  );
  const timeout = new Promise<{ ok: false; reason: string }>((r) => {
    timer = setTimeout(() => r({ ok: false, reason: `the tray binary was not ready within ${Math.round(o.readyTimeoutMs / 1000)} s` }), Math.max(0, deadline - Date.now()));
  });
  const result = await Promise.race([ready, exited, timeout]);
  clearTimeout(timer);
  if (!result.ok) {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    return { tray: null, menu: null, ids: null, reason: result.reason };
  }
  proc.once('exit', (code, signal) => o.onUnexpectedExit(code, signal));
  void tray.onClick((ev) => o.onClick(ev)).catch(() => undefined);
  return { tray, menu: o.menu, ids, reason: null };
}
