import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { envName } from '../config/env.ts';
import { assetsDir, selfEntry } from '../install-paths.ts';
import { loadConfig, type ConfigFlags } from '../config/load.ts';
import type { ResolvedConfig } from '../config/schema.ts';
import { proxyChildArgs } from '../ipc/child.ts';
import { createLogger, type Logger } from '../log.ts';
import { createLoopbackClient, findRunningProxy } from '../cli/proxy-client.ts';
import { autostartStatus, disableAutostart, enableAutostart, type AutostartOptions } from './autostart.ts';
import { errorText, realEffects, reportingEffects } from './desktop-effects.ts';
import type { PortHolder } from './port-holder.ts';
import { ProxySupervisor, stopDeadlineMs, type SupervisorStatus } from './proxy-supervisor.ts';
import { loadIcons, sendMenu, startSysTray, stopSysTray, type SysTrayInstance } from './systray-adapter.ts';
import { TEST_HOOK_ENV, sendToTest, testHookActive, testToTraySchema, type HookMenuItem } from './test-hook.ts';
import { initialControllerState, onChildMessage, onMenuClick, onProxyCrash, onProxyStatus, onTrayHost, type ControllerState, type Step, type TrayEffect } from './tray-controller.ts';
import { probeTrayHost, waitForTrayHost } from './tray-host.ts';
import { buildMenu, flattenItems, type IconKind, type ItemKey, type ProxyStatus, type TrayMenu, type TrayState } from './tray-menu.ts';

/**
 * The tray process: a systray2 icon + menu (systray-adapter.ts), a supervised
 * proxy child (proxy-supervisor.ts), and the pure controller
 * (tray-controller.ts) that decides what every event does; this file wires
 * them and carries out the controller's effects. It never serves HTTP and
 * never imports proxy code; the child is reached only through ../ipc/.
 */

export interface TrayOptions {
  /** CLI flags (same names as config keys); port/host go to the child as flags, the rest as env. */
  flags?: ConfigFlags;
  env?: NodeJS.ProcessEnv;
  /** Script forked as the proxy child; default: the script this process runs (dist/github-copilot-svcs.mjs). */
  childModule?: string;
  /** Args for the child; default ['__proxy-child', ...port/host flags]. */
  childArgs?: string[];
  /** How long to wait for the systray binary before running without a tray icon (default 10 s). */
  readyTimeoutMs?: number;
  /** Directory with the tray icons; default <repo>/assets. */
  assetsDir?: string;
  /** A tray host that is not there yet is asked for again until this long after start (a panel starting after us at login). Default 10 s. */
  trayHostGraceMs?: number;
  log?: Logger;
}

/**
 * Flags become child args (port, host: the child's own flags) or env vars (the
 * rest: GITHUB_COPILOT_SVCS_<KEY>). The child's drain deadline is handed over
 * as resolved here, and the tray's SIGKILL deadline derives from the same
 * value: one source for both (proxy-supervisor.ts stopDeadlineMs). Pure.
 */
export function childLaunch(
  o: Pick<TrayOptions, 'flags' | 'childArgs'>,
  baseEnv: NodeJS.ProcessEnv,
  config: Pick<ResolvedConfig, 'timeouts'>,
): { args: string[]; env: NodeJS.ProcessEnv; stopTimeoutMs: number } {
  const flags = o.flags ?? {};
  const args = o.childArgs ?? proxyChildArgs(flags);
  const env: NodeJS.ProcessEnv = { ...baseEnv };
  for (const [k, v] of Object.entries(flags)) {
    if (k === 'port' || k === 'host' || v === undefined) continue;
    env[envName(k)] = String(v);
  }
  env[envName('timeouts.shutdown')] = String(config.timeouts.shutdown);
  return { args, env, stopTimeoutMs: stopDeadlineMs(config.timeouts.shutdown) };
}

/** A notification's image: the colour tray icon of its state (the template icons are for the macOS menu bar only). */
export function notificationIcon(dir: string, kind: IconKind): string {
  return path.join(dir, `tray-${kind}-32.png`);
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
      return { kind: 'gave-up', reason: s.reason, portTaken: s.portTaken, port: s.port, holder: s.holder };
    case 'stopping':
      return { kind: 'stopping' };
    case 'stopped':
      return { kind: 'stopped' };
  }
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
  // The single-file binary's icons come from its cache dir, which may be refused (a symlinked
  // component, another user's file: runtime/sea-assets.ts). Then the tray runs headless, says why,
  // and keeps the proxy running; it does not exit.
  let assets: string | null;
  let cacheRefused: string | null = null;
  try {
    assets = opts.assetsDir ?? assetsDir();
  } catch (err) {
    assets = null;
    cacheRefused = `the tray helper cannot be used: ${err instanceof Error ? err.message : String(err)}`;
  }
  const icons: Record<IconKind, string> | null = assets === null ? null : loadIcons(assets, platform);
  const hook = testHookActive(env);
  const real = await realEffects(log, { iconPath: (k) => (assets === null ? '' : notificationIcon(assets, k)), env, platform });
  const effects = hook ? reportingEffects(real) : real;
  const autostartOpts: AutostartOptions = { env };

  let cs: ControllerState = initialControllerState(Date.now());
  let sys: SysTrayInstance | null = null;
  let sent: TrayMenu | null = null;
  let ids = new Map<ItemKey, number>();
  let keyById = new Map<number, ItemKey>();
  let quitting: Promise<number> | null = null;
  const timers = new Set<NodeJS.Timeout>();
  /** Ends the wait for a tray host at Quit. */
  const hostCheck = new AbortController();

  const render = (): void => {
    cs = { ...cs, tray: { ...cs.tray, now: Date.now() } };
    const menu = buildMenu(cs.tray);
    if (hook) {
      const items: HookMenuItem[] = flattenItems(menu.items).map((i) => ({ key: i.key, title: i.title, enabled: i.enabled, hidden: i.hidden, checked: i.checked }));
      sendToTest({ type: 'tray-test-menu', icon: menu.icon, tooltip: menu.tooltip, items });
    }
    if (!sys || !sent || !icons) return;
    sendMenu(sys, sent, menu, ids, icons, platform);
    sent = menu;
  };
  const update = (patch: Partial<TrayState>): void => {
    cs = { ...cs, tray: { ...cs.tray, ...patch } };
    render();
  };

  let notifyWarned = false;
  const notify = (title: string, message: string, icon: IconKind): void => {
    effects.notify(title, message, icon).catch((err: unknown) => {
      if (notifyWarned) return;
      notifyWarned = true; // say it once, keep going
      log.warn(`Desktop notifications unavailable: ${errorText(err)}`);
    });
  };

  const refreshAutostart = async (): Promise<void> => {
    try {
      const s = await autostartStatus(autostartOpts);
      update({ autostart: s.supported ? s.enabled : null });
    } catch (err) {
      log.warn(`Start at login: ${errorText(err)}`);
      update({ autostart: null });
    }
  };

  /** Carry out what the controller decided. */
  const perform = (e: TrayEffect): void => {
    switch (e.kind) {
      case 'notify':
        notify(e.title, e.message, e.icon);
        break;
      case 'copy':
        effects.copy(e.text).then(
          () => log.info(`Copied ${e.what} to the clipboard`),
          (err: unknown) => {
            log.warn(`Could not copy ${e.what} to the clipboard: ${errorText(err)}`);
            notify('Could not copy to the clipboard', `${e.what}: ${e.text}`, 'warning');
          },
        );
        break;
      case 'open':
        effects.open(e.target).catch((err: unknown) => log.warn(`Could not open ${e.target}: ${errorText(err)}`));
        break;
      case 'send':
        supervisor.send(e.message);
        break;
      case 'log':
        log[e.level](e.message);
        break;
      case 'open-logs':
        perform({ kind: 'open', target: fs.existsSync(config.paths.logFile) ? config.paths.logFile : config.paths.dataDir });
        break;
      case 'set-autostart':
        void (async () => {
          try {
            const s = e.enable ? await enableAutostart(autostartOpts) : await disableAutostart(autostartOpts);
            log.info(`Start at login ${s.enabled ? 'enabled' : 'disabled'} (${s.location})`);
          } catch (err) {
            notify('Start at login', `Could not change it: ${errorText(err)}`, 'warning');
          }
          await refreshAutostart();
        })();
        break;
      case 'setup-client':
        void (async () => {
          let out = '';
          const sink = { write: (chunk: string) => (out += chunk) };
          try {
            const { setup } = await import('../cli/setup.ts');
            await setup(e.client, { port: config.port }, { env, stdout: sink, stderr: sink });
            const lines = out.trim().split('\n');
            const check = lines.findLast((l) => /^(✅|❌|⚠️)/.test(l)) ?? '';
            log.info(`Set up ${e.client}: ${lines.join(' | ')}`);
            notify(`Set up ${e.client}`, [lines.find((l) => /^(Wrote|.*nothing changed)/.test(l)) ?? '', check].filter(Boolean).join('\n'), check.startsWith('✅') ? 'healthy' : 'warning');
          } catch (err) {
            log.warn(`Set up ${e.client} failed: ${errorText(err)}`);
            notify(`Set up ${e.client}`, `It failed: ${errorText(err)}`, 'error');
          }
        })();
        break;
      case 'restart-proxy':
        void supervisor.restart();
        break;
      case 'quit':
        void quit();
        break;
    }
  };
  const apply = (step: Step): void => {
    const changed = step.state !== cs;
    cs = step.state;
    if (changed) render();
    for (const e of step.effects) perform(e);
  };

  const { args: childArgs, env: childEnv, stopTimeoutMs } = childLaunch(opts, env, config);
  const childEnvFinal: NodeJS.ProcessEnv = { ...childEnv };
  delete childEnvFinal[TEST_HOOK_ENV];
  /** Does the port answer our /health? Then it is another github-copilot-svcs proxy. */
  const identifyPortHolder = async (): Promise<PortHolder | null> => {
    const agent = createLoopbackClient();
    try {
      const p = await findRunningProxy(config, agent, 1000);
      return p ? { kind: 'github-copilot-svcs', version: p.version } : null;
    } finally {
      agent.destroy();
    }
  };
  const supervisor = new ProxySupervisor({
    modulePath: opts.childModule ?? selfEntry(),
    args: childArgs,
    env: childEnvFinal,
    port: config.port,
    stopTimeoutMs,
    identifyPortHolder,
    log,
    onMessage: (msg) => apply(onChildMessage(cs, msg, randomUUID)),
    onStatus: (s) => {
      apply(onProxyStatus(cs, proxyStatusFrom(s)));
      if (hook) sendToTest({ type: 'tray-test-proxy', status: s.kind, childPid: supervisor.pid });
    },
    onCrash: (c) => apply(onProxyCrash(cs, { portTaken: c.portTaken, holder: c.holder, code: c.code, signal: c.signal })),
  });

  const onClick = (key: ItemKey | string, source: 'systray' | 'hook'): void => {
    if (hook) sendToTest({ type: 'tray-test-clicked', key, source });
    log.debug(`menu: ${key}`);
    apply(onMenuClick(cs, key, randomUUID));
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
    if (tray) await stopSysTray(tray, timers);
  };
  const quit = (): Promise<number> => {
    if (quitting) return quitting;
    quitting = (async () => {
      log.info('Quitting');
      hostCheck.abort();
      await supervisor.stop();
      await stopTrayBinary();
      // The clipboard the tray owns goes with it: no helper process is left behind.
      effects.close();
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

  // Whether anything will show the icon: asked while the tray binary starts.
  const trayHost = waitForTrayHost(() => probeTrayHost({ env, platform }), { graceMs: opts.trayHostGraceMs ?? 10_000, intervalMs: 2000, signal: hostCheck.signal });

  const ui = icons === null ? { tray: null, menu: null, ids: null, reason: cacheRefused ?? 'no icons' } : await startSysTray({
    platform,
    env,
    log,
    menu: buildMenu(cs.tray),
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
    render(); // state may have moved on while the binary started
    void trayHost.then((probe) => {
      if (quitting) return;
      if (hook) sendToTest({ type: 'tray-test-host', probe });
      apply(onTrayHost(cs, probe, env));
    });
  } else {
    hostCheck.abort(); // no icon to show: nothing to ask about
    log.warn(
      `No system tray available (${ui.reason}): running the proxy without a tray icon, as \`github-copilot-svcs run\` would. Stop it with Ctrl-C.`,
    );
  }
  if (hook) sendToTest({ type: 'tray-test-ui', ui: ui.tray ? 'ready' : 'headless', reason: ui.reason, binPid: ui.tray?.process?.pid ?? null });
  return done;
}

