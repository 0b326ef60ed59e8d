import { randomUUID } from 'node:crypto';
import { envName } from '../config/env.ts';
import { proxyChildArgs } from '../ipc/child.ts';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import systray2, { type ClickEvent, type Menu as SysMenu, type MenuItem as SysMenuItem } from 'systray2';
import { loadConfig, type ConfigFlags } from '../config/load.ts';
import type { ResolvedConfig } from '../config/schema.ts';
import type { ChildMessage } from '../ipc/messages.ts';
import { createLogger, type Logger } from '../log.ts';
import { autostartStatus, disableAutostart, enableAutostart, type AutostartOptions } from './autostart.ts';
import { ProxySupervisor, type SupervisorStatus } from './proxy-supervisor.ts';
import { TEST_HOOK_ENV, sendToTest, testHookActive, testToTraySchema, type HookMenuItem, type TrayToTest } from './test-hook.ts';
import { ensureTrayBinaryExecutable } from './tray-binary.ts';
import {
  assignIds,
  baseUrlFor,
  buildMenu,
  changedKeys,
  flattenItems,
  initialTrayState,
  type IconKind,
  type ItemKey,
  type ProxyStatus,
  type TrayMenu,
  type TrayMenuItem,
  type TrayState,
} from './tray-menu.ts';

/**
 * The tray process: a systray2 icon + menu, and a supervised proxy child.
 * It never serves HTTP and never imports proxy code; the child is reached
 * only through the typed IPC messages in ../ipc/messages.ts.
 */

// systray2 is CommonJS with `exports.default`; from ESM the class sits on `.default` of the namespace.
type SysTrayClass = typeof systray2.default;
const SysTray: SysTrayClass = systray2.default ?? (systray2 as unknown as SysTrayClass);
type SysTrayInstance = InstanceType<SysTrayClass>;

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface TrayOptions {
  /** CLI flags (same names as config keys); port/host go to the child as flags, the rest as env. */
  flags?: ConfigFlags;
  env?: NodeJS.ProcessEnv;
  /** Script forked as the proxy child; default <repo>/bin/github-copilot-svcs.js. */
  childModule?: string;
  /** Args for the child; default ['__proxy-child', ...port/host flags]. */
  childArgs?: string[];
  /** How long to wait for the systray binary before running without a tray icon (default 10 s). */
  readyTimeoutMs?: number;
  /** Directory with the tray icons; default <repo>/assets. */
  assetsDir?: string;
  log?: Logger;
}

/**
 * Side effects that leave the process, always through the real libraries
 * (node-notifier, clipboardy, open). Each settles once the OS-level call has
 * been made: rejected when it failed.
 */
interface Effects {
  notify(title: string, message: string): Promise<void>;
  copy(text: string): Promise<void>;
  open(target: string): Promise<void>;
}

const ICON_FILE: Record<'linux' | 'darwin' | 'win32', (k: IconKind) => string> = {
  linux: (k) => `tray-${k}-32.png`,
  darwin: (k) => `tray-${k}-Template@2x.png`,
  win32: (k) => `tray-${k}.ico`,
};

function iconFile(platform: NodeJS.Platform, kind: IconKind): string {
  const f = platform === 'darwin' || platform === 'win32' ? ICON_FILE[platform] : ICON_FILE.linux;
  return f(kind);
}

function loadIcons(dir: string, platform: NodeJS.Platform): Record<IconKind, string> {
  const kinds: IconKind[] = ['healthy', 'warning', 'error', 'stopped'];
  return Object.fromEntries(kinds.map((k) => [k, fs.readFileSync(path.join(dir, iconFile(platform, k))).toString('base64')])) as Record<
    IconKind,
    string
  >;
}

/** Flags become child args (port, host: the child's own flags) or env vars (the rest: GITHUB_COPILOT_SVCS_<KEY>). */
function childLaunch(opts: TrayOptions, baseEnv: NodeJS.ProcessEnv): { args: string[]; env: NodeJS.ProcessEnv } {
  const flags = opts.flags ?? {};
  const args = opts.childArgs ?? proxyChildArgs(flags);
  const env: NodeJS.ProcessEnv = { ...baseEnv };
  for (const [k, v] of Object.entries(flags)) {
    if (k === 'port' || k === 'host' || v === undefined) continue;
    env[envName(k)] = String(v);
  }
  return { args, env };
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

function proxyStatusFrom(s: SupervisorStatus): ProxyStatus {
  switch (s.kind) {
    case 'idle':
    case 'starting':
      return { kind: 'starting' };
    case 'running':
      return { kind: 'running', url: s.url, port: s.port, pid: s.pid };
    case 'restarting':
      return { kind: 'restarting', attempt: s.attempt, delayMs: s.delayMs, reason: s.reason };
    case 'gave-up':
      return { kind: 'gave-up', reason: s.reason, portTaken: s.portTaken, port: s.port };
    case 'stopping':
      return { kind: 'stopping' };
    case 'stopped':
      return { kind: 'stopped' };
  }
}

async function realEffects(log: Logger, iconPath: string): Promise<Effects> {
  const [{ default: notifier }, { default: clipboard }, { default: openTarget }] = await Promise.all([
    import('node-notifier'),
    import('clipboardy'),
    import('open'),
  ]);
  // No notification daemon (or notify-send missing): stop trying after the first failure.
  let notifyBroken: Error | null = null;
  return {
    notify(title, message) {
      if (notifyBroken) return Promise.reject(notifyBroken);
      return new Promise<void>((resolve, reject) => {
        const fail = (err: unknown): void => {
          notifyBroken = err instanceof Error ? err : new Error(String(err));
          reject(notifyBroken);
        };
        try {
          notifier.notify({ title, message, icon: iconPath, appID: 'github-copilot-svcs' } as Parameters<typeof notifier.notify>[0], (err) => {
            // node-notifier passes notify-send's stderr as `err` when it exited 0 but complained.
            if (err) fail(err);
            else resolve();
          });
        } catch (err) {
          fail(err);
        }
      });
    },
    async copy(text) {
      await clipboard.write(text);
    },
    async open(target) {
      // Resolves once the launcher (xdg-open, open, PowerShell) has started; it then runs on its own.
      const child = await openTarget(target);
      child.on('error', (err) => log.warn(`Could not open ${target}: ${err.message}`));
    },
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** With the test hook: the same real effects, each reported to the test once it was made (or failed). */
function reportingEffects(inner: Effects): Effects {
  const report = (p: Promise<void>, msg: (error: string | null) => TrayToTest): Promise<void> =>
    p.then(
      () => sendToTest(msg(null)),
      (err: unknown) => {
        sendToTest(msg(errorText(err)));
        throw err;
      },
    );
  return {
    notify: (title, message) => report(inner.notify(title, message), (error) => ({ type: 'tray-test-notify', title, message, error })),
    copy: (text) => report(inner.copy(text), (error) => ({ type: 'tray-test-clipboard', text, error })),
    open: (target) => report(inner.open(target), (error) => ({ type: 'tray-test-open', target, error })),
  };
}

/**
 * Start the tray and the proxy child; resolves with the exit code after Quit
 * (or SIGINT/SIGTERM) once the child and the tray binary are gone.
 */
export async function runTray(opts: TrayOptions = {}): Promise<number> {
  const env = opts.env ?? process.env;
  const config: ResolvedConfig = loadConfig({ env, flags: opts.flags ?? {} });
  fs.mkdirSync(config.paths.dataDir, { recursive: true, mode: 0o700 });
  const log =
    opts.log ??
    createLogger({ level: config.log_level, file: path.join(config.paths.dataDir, 'github-copilot-svcs-tray.log'), scope: 'tray' });
  for (const w of config.warnings) log.warn(w);

  const platform = process.platform;
  const assetsDir = opts.assetsDir ?? path.join(repoRoot, 'assets');
  const icons = loadIcons(assetsDir, platform);
  const hook = testHookActive(env);
  const real = await realEffects(log, path.join(assetsDir, 'tray-healthy-32.png'));
  const effects = hook ? reportingEffects(real) : real;
  const autostartOpts: AutostartOptions = { env };

  let state: TrayState = initialTrayState(Date.now());
  let sys: SysTrayInstance | null = null;
  let sent: TrayMenu | null = null;
  let ids = new Map<ItemKey, number>();
  let keyById = new Map<number, ItemKey>();
  let quitting: Promise<number> | null = null;
  let prevHealth: string | null = null;
  let lastProxyKind: ProxyStatus['kind'] = 'starting';
  let refreshRequestId: string | null = null;
  const timers = new Set<NodeJS.Timeout>();

  const render = (): void => {
    state = { ...state, now: Date.now() };
    const menu = buildMenu(state);
    if (hook) {
      const items: HookMenuItem[] = flattenItems(menu.items).map((i) => ({ key: i.key, title: i.title, enabled: i.enabled, hidden: i.hidden, checked: i.checked }));
      sendToTest({ type: 'tray-test-menu', icon: menu.icon, tooltip: menu.tooltip, items });
    }
    if (!sys || !sent) return;
    const tray = sys;
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
    sent = menu;
  };
  const update = (patch: Partial<TrayState>): void => {
    state = { ...state, ...patch };
    render();
  };

  let notifyWarned = false;
  const notify = (title: string, message: string): void => {
    effects.notify(title, message).catch((err: unknown) => {
      if (notifyWarned) return;
      notifyWarned = true; // say it once, keep going
      log.warn(`Desktop notifications unavailable: ${errorText(err)}`);
    });
  };
  const copy = (text: string, what: string): void => {
    effects.copy(text).then(
      () => log.info(`Copied ${what} to the clipboard`),
      (err: unknown) => {
        log.warn(`Could not copy ${what} to the clipboard: ${errorText(err)}`);
        notify('Could not copy to the clipboard', `${what}: ${text}`);
      },
    );
  };
  const openTarget = (target: string): void => {
    effects.open(target).catch((err: unknown) => log.warn(`Could not open ${target}: ${errorText(err)}`));
  };

  const refreshAutostart = async (): Promise<void> => {
    try {
      const s = await autostartStatus(autostartOpts);
      update({ autostart: s.supported ? s.enabled : null });
    } catch (err) {
      log.warn(`Start at login: ${(err as Error).message}`);
      update({ autostart: null });
    }
  };

  const requestModelsAndUsage = (): void => {
    supervisor.send({ type: 'get-models', requestId: randomUUID() });
    if (state.token?.hasGithubToken) supervisor.send({ type: 'get-usage', requestId: randomUUID() });
  };

  const onChildMessage = (msg: ChildMessage): void => {
    switch (msg.type) {
      case 'ready':
        log.info(`Proxy listening on ${msg.url} (pid ${msg.pid})`);
        requestModelsAndUsage();
        break;
      case 'listen-failed':
        log.error(`Proxy could not listen: ${msg.message}`);
        break;
      case 'token': {
        const s = msg.snapshot;
        const wasSignedIn = state.token?.hasGithubToken === true && state.token.state !== 'needs_auth';
        const signedIn = s.hasGithubToken && s.state !== 'needs_auth';
        const needsSignIn = s.health === 'not_signed_in' || s.state === 'needs_auth';
        if (needsSignIn && prevHealth !== 'needs-sign-in' && !state.signIn && !state.signInStarting) {
          notify('GitHub Copilot: sign-in needed', 'Open the tray menu and choose "Sign in with GitHub…".');
        }
        prevHealth = needsSignIn ? 'needs-sign-in' : s.health;
        update({
          token: s,
          signIn: s.pendingSignIn ? { userCode: s.pendingSignIn.userCode, verificationUri: s.pendingSignIn.verificationUri } : state.signIn,
        });
        if (signedIn && !wasSignedIn) requestModelsAndUsage();
        break;
      }
      case 'models':
        update({ models: msg.models, modelsError: msg.error });
        break;
      case 'usage':
        update({ usage: msg.usage, usageError: msg.error });
        break;
      case 'refresh-done':
        if (msg.requestId === refreshRequestId) {
          refreshRequestId = null;
          update({ refreshing: false });
          if (!msg.ok) notify('Token refresh failed', msg.error ?? 'unknown error');
        }
        break;
      case 'sign-in-code':
        update({ signIn: { userCode: msg.userCode, verificationUri: msg.verificationUri }, signInStarting: false, signInError: null });
        copy(msg.userCode, 'the sign-in code');
        openTarget(msg.verificationUri);
        notify('Sign in to GitHub', `Code ${msg.userCode} is on the clipboard: paste it in the page that just opened.`);
        break;
      case 'sign-in-done':
        update({ signIn: null, signInStarting: false, signInError: msg.ok ? null : (msg.error ?? 'sign-in failed') });
        if (msg.ok) {
          notify('Signed in to GitHub Copilot', 'The proxy is ready to use.');
          requestModelsAndUsage();
        } else notify('GitHub sign-in failed', msg.error ?? 'unknown error');
        break;
      case 'log':
        log[msg.level](`[proxy] ${msg.message}`);
        break;
    }
  };

  const { args: childArgs, env: childEnv } = childLaunch(opts, env);
  const childEnvFinal: NodeJS.ProcessEnv = { ...childEnv };
  delete childEnvFinal[TEST_HOOK_ENV];
  const supervisor = new ProxySupervisor({
    modulePath: opts.childModule ?? path.join(repoRoot, 'bin', 'github-copilot-svcs.js'),
    args: childArgs,
    env: childEnvFinal,
    port: config.port,
    log,
    onMessage: onChildMessage,
    onStatus: (s) => {
      const proxy = proxyStatusFrom(s);
      const patch: Partial<TrayState> = { proxy };
      if (proxy.kind !== 'running') {
        refreshRequestId = null;
        Object.assign(patch, { refreshing: false, signInStarting: false, signIn: null });
      }
      if (proxy.kind === 'gave-up') {
        notify(
          'GitHub Copilot proxy stopped',
          proxy.portTaken ? `Port ${proxy.port ?? '?'} is in use by another program.` : `It kept crashing (${proxy.reason}). See Open logs.`,
        );
      }
      lastProxyKind = proxy.kind;
      update(patch);
      if (hook) sendToTest({ type: 'tray-test-proxy', status: s.kind, childPid: supervisor.pid });
    },
    onCrash: (c) => {
      // One notification per outage, not one per restart attempt.
      if (lastProxyKind === 'running') {
        notify(
          'GitHub Copilot proxy crashed',
          c.portTaken ? 'Its port is in use by another program; retrying.' : `It stopped (${c.signal ?? `exit code ${c.code ?? '?'}`}); restarting it.`,
        );
      }
    },
  });

  const onClick = (key: ItemKey | string, source: 'systray' | 'hook'): void => {
    if (hook) sendToTest({ type: 'tray-test-clicked', key, source });
    log.debug(`menu: ${key}`);
    if (key.startsWith('model-')) {
      const m = state.models?.[Number(key.slice('model-'.length))];
      if (m) copy(m.id, `model id ${m.id}`);
      return;
    }
    switch (key) {
      case 'proxy':
        if (state.proxy.kind === 'running') copy(baseUrlFor(state.proxy.url), 'the base URL');
        break;
      case 'sign-in':
        if (state.signIn || state.signInStarting) {
          supervisor.send({ type: 'cancel-sign-in' });
          update({ signIn: null, signInStarting: false });
        } else if (supervisor.send({ type: 'sign-in' })) update({ signInStarting: true, signInError: null });
        break;
      case 'sign-in-code':
        if (state.signIn) {
          copy(state.signIn.userCode, 'the sign-in code');
          openTarget(state.signIn.verificationUri);
        }
        break;
      case 'refresh': {
        const requestId = randomUUID();
        if (supervisor.send({ type: 'refresh', requestId })) {
          refreshRequestId = requestId;
          update({ refreshing: true });
        }
        break;
      }
      case 'models':
        requestModelsAndUsage();
        break;
      case 'usage':
        supervisor.send({ type: 'get-usage', requestId: randomUUID() });
        break;
      case 'open-logs': {
        const file = fs.existsSync(config.paths.logFile) ? config.paths.logFile : config.paths.dataDir;
        openTarget(file);
        break;
      }
      case 'autostart':
        void (async () => {
          try {
            const s = state.autostart ? await disableAutostart(autostartOpts) : await enableAutostart(autostartOpts);
            log.info(`Start at login ${s.enabled ? 'enabled' : 'disabled'} (${s.location})`);
          } catch (err) {
            notify('Start at login', `Could not change it: ${(err as Error).message}`);
          }
          await refreshAutostart();
        })();
        break;
      case 'restart':
        log.info('Restarting the proxy (menu)');
        void supervisor.restart();
        break;
      case 'quit':
        void quit();
        break;
    }
  };

  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((r) => (resolveDone = r));

  const onSignal = (sig: NodeJS.Signals): void => {
    log.info(`${sig}: quitting`);
    void quit();
  };

  const stopTrayBinary = async (): Promise<void> => {
    const tray = sys;
    sys = null;
    const proc = tray?.process;
    if (!tray || !proc || proc.exitCode !== null || proc.signalCode !== null) return;
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
  };

  const quit = (): Promise<number> => {
    if (quitting) return quitting;
    quitting = (async () => {
      log.info('Quitting');
      await supervisor.stop();
      await stopTrayBinary();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (hook) {
        process.off('message', onHookMessage);
        process.off('disconnect', onHookDisconnect);
        sendToTest({ type: 'tray-test-exit', code: 0 });
      }
      resolveDone(0);
      return 0;
    })();
    return quitting;
  };

  const onHookMessage = (raw: unknown): void => {
    const parsed = testToTraySchema.safeParse(raw);
    if (!parsed.success) return;
    if (parsed.data.type === 'tray-test-click') onClick(parsed.data.key, 'hook');
    else void quit();
  };
  const onHookDisconnect = (): void => void quit();
  if (hook) {
    process.on('message', onHookMessage);
    process.on('disconnect', onHookDisconnect);
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // Keep "expires in Nm" current.
  const tick = setInterval(() => render(), 30_000);
  tick.unref();
  timers.add(tick as unknown as NodeJS.Timeout);

  supervisor.start();
  await refreshAutostart();

  const ui = await startSysTray({
    platform,
    env,
    log,
    menu: buildMenu(state),
    icons,
    readyTimeoutMs: opts.readyTimeoutMs ?? 10_000,
    onClick: (ev) => {
      const key = keyById.get(ev.__id);
      if (key) onClick(key, 'systray');
    },
    onUnexpectedExit: (code, signal) => {
      if (quitting) return;
      sys = null;
      log.error(`The tray icon process exited (${signal ?? `code ${code}`}); the proxy keeps running without a tray icon. Stop it with Ctrl-C or SIGTERM.`);
    },
  });
  if (quitting) {
    // Quit arrived while the tray binary was starting.
    if (ui.tray) {
      sys = ui.tray;
      await stopTrayBinary();
    }
    return done;
  }
  if (ui.tray) {
    sys = ui.tray;
    sent = ui.menu;
    ids = ui.ids;
    keyById = new Map([...ids].map(([k, v]) => [v, k]));
    log.info('Tray icon ready');
    render(); // state may have moved on while the binary started
  } else {
    log.warn(
      `No system tray available (${ui.reason}): running the proxy without a tray icon, as \`github-copilot-svcs run\` would. Stop it with Ctrl-C.`,
    );
  }
  if (hook) sendToTest({ type: 'tray-test-ui', ui: ui.tray ? 'ready' : 'headless', reason: ui.reason, binPid: ui.tray?.process?.pid ?? null });
  return done;
}

interface StartSysTrayOptions {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  log: Logger;
  menu: TrayMenu;
  icons: Record<IconKind, string>;
  readyTimeoutMs: number;
  onClick: (ev: ClickEvent) => void;
  onUnexpectedExit: (code: number | null, signal: NodeJS.Signals | null) => void;
}

type StartResult =
  | { tray: SysTrayInstance; menu: TrayMenu; ids: Map<ItemKey, number>; reason: null }
  | { tray: null; menu: null; ids: null; reason: string };

/**
 * Start systray2's binary. `ready()` never settles when the binary dies early
 * (no display, no tray host libraries), so it is raced with the binary's exit
 * and a timeout; on any failure the binary is killed and the caller runs headless.
 */
async function startSysTray(o: StartSysTrayOptions): Promise<StartResult> {
  if (o.platform === 'linux' && !o.env.DISPLAY && !o.env.WAYLAND_DISPLAY) return { tray: null, menu: null, ids: null, reason: 'no DISPLAY or WAYLAND_DISPLAY' };
  const chmodProblem = ensureTrayBinaryExecutable(o.platform);
  if (chmodProblem) o.log.warn(chmodProblem);

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
    tray = new SysTray({ menu: initial, debug: false, copyDir: false });
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
