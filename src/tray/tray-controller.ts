import type { LogLevel } from '../config/schema.ts';
import type { ChildMessage, TrayMessage } from '../ipc/messages.ts';
import { isSignedIn } from '../auth/snapshot.ts';
import { SETUP_FILE_CLIENTS, baseUrlFor, dashboardUrlFor, type FileClient } from '../clients/setup.ts';
import { usageLimitLine } from '../upstream/usage-limit.ts';
import { initialTrayState, type IconKind, type ItemKey, type ProxyStatus, type TrayState } from './tray-menu.ts';
import { portHolderText, type PortHolder } from './port-holder.ts';
import { describeTrayHost, noTrayHostMessages, type TrayHostProbe } from './tray-host.ts';

/**
 * The tray's behaviour as pure functions: an event (a message from the proxy
 * child, a supervisor status, a crash, a menu click) and the state in, the new
 * state and the effects to carry out out. tray-main.ts owns the I/O (systray2,
 * IPC, clipboard, browser, notifications) and only executes the effects.
 */

export interface ControllerState {
  tray: TrayState;
  /** The last health seen ('needs-sign-in' or a TokenHealth): notifications fire on change only. */
  prevHealth: string | null;
  lastProxyKind: ProxyStatus['kind'];
  /** The refresh the user asked for, while it is in flight. */
  refreshRequestId: string | null;
  /** Nothing shows the tray icon (tray-host.ts): the dashboard is the window. */
  trayHostMissing: boolean;
  /** The dashboard was opened for that, once. */
  dashboardOffered: boolean;
}

export type TrayEffect =
  /** `icon`: the state it is about, shown with the notification (the tray icon of that state). */
  | { kind: 'notify'; title: string; message: string; icon: IconKind }
  | { kind: 'copy'; text: string; what: string }
  | { kind: 'open'; target: string }
  | { kind: 'send'; message: TrayMessage }
  | { kind: 'log'; level: LogLevel; message: string }
  | { kind: 'open-logs' }
  | { kind: 'set-autostart'; enable: boolean }
  /** `setup <client>`, the CLI's own code, in this process; its result is notified. */
  | { kind: 'setup-client'; client: FileClient }
  | { kind: 'restart-proxy' }
  | { kind: 'quit' };

export interface Step {
  state: ControllerState;
  effects: TrayEffect[];
}

export function initialControllerState(now: number): ControllerState {
  return { tray: initialTrayState(now), prevHealth: null, lastProxyKind: 'starting', refreshRequestId: null, trayHostMissing: false, dashboardOffered: false };
}

const withTray = (s: ControllerState, patch: Partial<TrayState>): ControllerState => ({ ...s, tray: { ...s.tray, ...patch } });

/** Ask the child for the model list, and the quota when signed in. */
function requestModelsAndUsage(s: ControllerState, newId: () => string): TrayEffect[] {
  const effects: TrayEffect[] = [{ kind: 'send', message: { type: 'get-models', requestId: newId() } }];
  if (s.tray.token?.hasGithubToken) effects.push({ kind: 'send', message: { type: 'get-usage', requestId: newId() } });
  return effects;
}

export function onChildMessage(s: ControllerState, msg: ChildMessage, newId: () => string): Step {
  switch (msg.type) {
    case 'ready':
      return { state: s, effects: [{ kind: 'log', level: 'info', message: `Proxy listening on ${msg.url} (pid ${msg.pid})` }, ...requestModelsAndUsage(s, newId)] };
    case 'listen-failed':
      return { state: s, effects: [{ kind: 'log', level: 'error', message: `Proxy could not listen: ${msg.message}` }] };
    case 'token': {
      const snap = msg.snapshot;
      const wasSignedIn = s.tray.token !== null && isSignedIn(s.tray.token);
      const needsSignIn = !isSignedIn(snap);
      const effects: TrayEffect[] = [];
      if (needsSignIn && s.prevHealth !== 'needs-sign-in' && !s.tray.signIn && !s.tray.signInStarting) {
        effects.push({ kind: 'notify', title: 'GitHub Copilot: sign-in needed', message: 'Open the tray menu and choose "Sign in with GitHub…".', icon: 'error' });
      }
      const next: ControllerState = {
        ...withTray(s, {
          token: snap,
          // A code pending in the proxy shows in the menu wherever the flow began (the tray, `run`, the dashboard),
          // and goes when that flow ends.
          signIn: snap.pendingSignIn
            ? { userCode: snap.pendingSignIn.userCode, verificationUri: snap.pendingSignIn.verificationUri }
            : s.tray.token?.pendingSignIn
              ? null
              : s.tray.signIn,
        }),
        prevHealth: needsSignIn ? 'needs-sign-in' : snap.health,
      };
      if (isSignedIn(snap) && !wasSignedIn) effects.push(...requestModelsAndUsage(next, newId));
      return { state: next, effects };
    }
    case 'models':
      return { state: withTray(s, { models: msg.models, modelsError: msg.error }), effects: [] };
    case 'usage':
      return { state: withTray(s, { usage: msg.usage, usageError: msg.error, credits: msg.credits ?? s.tray.credits }), effects: [] };
    case 'limit': {
      const was = s.tray.limit;
      const next = withTray(s, { limit: msg.limit });
      // One notification when a limit starts and one when it ends.
      if (msg.limit && !was) {
        return {
          state: next,
          effects: [{ kind: 'notify', title: `Copilot ${msg.limit.kind} limit reached`, message: `${usageLimitLine(msg.limit)}. Requests are answered 429 until then.`, icon: 'warning' }],
        };
      }
      if (!msg.limit && was) {
        return {
          state: next,
          effects: [{ kind: 'notify', title: `Copilot ${was.kind} limit ended`, message: 'Requests go to Copilot again.', icon: 'healthy' }, ...requestModelsAndUsage(next, newId)],
        };
      }
      return { state: next, effects: [] };
    }
    case 'refresh-done':
      if (msg.requestId !== s.refreshRequestId) return { state: s, effects: [] };
      return {
        state: { ...withTray(s, { refreshing: false }), refreshRequestId: null },
        effects: msg.ok ? [] : [{ kind: 'notify', title: 'Token refresh failed', message: msg.error ?? 'unknown error', icon: 'error' }],
      };
    case 'sign-in-code':
      return {
        state: withTray(s, { signIn: { userCode: msg.userCode, verificationUri: msg.verificationUri }, signInStarting: false, signInError: null }),
        effects: [
          { kind: 'copy', text: msg.userCode, what: 'the sign-in code' },
          { kind: 'open', target: msg.verificationUri },
          { kind: 'notify', title: 'Sign in to GitHub', message: `Code ${msg.userCode} is on the clipboard: paste it in the page that just opened.`, icon: 'warning' },
        ],
      };
    case 'sign-in-done': {
      const next = withTray(s, { signIn: null, signInStarting: false, signInError: msg.ok ? null : (msg.error ?? 'sign-in failed') });
      return {
        state: next,
        effects: msg.ok
          ? [{ kind: 'notify', title: 'Signed in to GitHub Copilot', message: 'The proxy is ready to use.', icon: 'healthy' }, ...requestModelsAndUsage(next, newId)]
          : [{ kind: 'notify', title: 'GitHub sign-in failed', message: msg.error ?? 'unknown error', icon: 'error' }],
      };
    }
    case 'log':
      return { state: s, effects: [{ kind: 'log', level: msg.level, message: `[proxy] ${msg.message}` }] };
  }
}

/** The supervisor says where the child is. */
export function onProxyStatus(s: ControllerState, proxy: ProxyStatus): Step {
  const patch: Partial<TrayState> = { proxy };
  let next: ControllerState = { ...s, lastProxyKind: proxy.kind };
  if (proxy.kind !== 'running') {
    Object.assign(patch, { refreshing: false, signInStarting: false, signIn: null });
    next = { ...next, refreshRequestId: null };
  }
  const effects: TrayEffect[] = [];
  if (proxy.kind === 'gave-up') {
    effects.push({
      kind: 'notify',
      title: 'GitHub Copilot proxy stopped',
      message: proxy.portTaken ? `Port ${proxy.port ?? '?'} is in use by ${portHolderText(proxy.holder)}.` : `It kept crashing (${proxy.reason}). See Open logs.`,
      icon: 'stopped',
    });
  }
  return offerDashboard(withTray(next, patch), effects);
}

/**
 * What the tray host check found, once the tray binary is ready. Without a
 * host nothing shows the icon: say what to install once (log and notification),
 * and open the dashboard, the window this app has, once the proxy runs.
 */
export function onTrayHost(s: ControllerState, probe: TrayHostProbe, env: NodeJS.ProcessEnv): Step {
  switch (probe.kind) {
    case 'found':
      return { state: s, effects: [{ kind: 'log', level: 'info', message: `Tray icon ready (${probe.hosts.map(describeTrayHost).join(', ')})` }] };
    case 'unknown':
      return { state: s, effects: [{ kind: 'log', level: 'info', message: `Tray icon started; whether a tray host shows it is unknown (${probe.reason})` }] };
    case 'none': {
      if (s.trayHostMissing) return { state: s, effects: [] };
      const m = noTrayHostMessages(probe, env);
      return offerDashboard({ ...s, trayHostMissing: true }, [
        { kind: 'log', level: 'warn', message: m.log },
        { kind: 'notify', title: m.title, message: m.message, icon: 'warning' },
      ]);
    }
  }
}

/** Open the dashboard once when no tray host shows the icon and the proxy runs. */
function offerDashboard(s: ControllerState, effects: TrayEffect[]): Step {
  const p = s.tray.proxy;
  if (!s.trayHostMissing || s.dashboardOffered || p.kind !== 'running') return { state: s, effects };
  return { state: { ...s, dashboardOffered: true }, effects: [...effects, { kind: 'open', target: dashboardUrlFor(p.url) }] };
}

/** The child died while it should have run: one notification per outage, not one per restart attempt. */
export function onProxyCrash(s: ControllerState, crash: { portTaken: boolean; holder: PortHolder | null; code: number | null; signal: string | null }): Step {
  if (s.lastProxyKind !== 'running') return { state: s, effects: [] };
  return {
    state: s,
    effects: [
      {
        kind: 'notify',
        title: 'GitHub Copilot proxy crashed',
        message: crash.portTaken ? `Its port is in use by ${portHolderText(crash.holder)}; retrying.` : `It stopped (${crash.signal ?? `exit code ${crash.code ?? '?'}`}); restarting it.`,
        icon: 'stopped',
      },
    ],
  };
}

export function onMenuClick(s: ControllerState, key: ItemKey | string, newId: () => string): Step {
  const t = s.tray;
  const running = t.proxy.kind === 'running';
  if (key.startsWith('model-')) {
    const m = t.models?.[Number(key.slice('model-'.length))];
    return { state: s, effects: m ? [{ kind: 'copy', text: m.id, what: `model id ${m.id}` }] : [] };
  }
  switch (key) {
    case 'proxy':
      return { state: s, effects: t.proxy.kind === 'running' ? [{ kind: 'copy', text: baseUrlFor(t.proxy.url), what: 'the base URL' }] : [] };
    case 'sign-in':
      if (t.signIn || t.signInStarting) return { state: withTray(s, { signIn: null, signInStarting: false }), effects: [{ kind: 'send', message: { type: 'cancel-sign-in' } }] };
      if (!running) return { state: s, effects: [] };
      return { state: withTray(s, { signInStarting: true, signInError: null }), effects: [{ kind: 'send', message: { type: 'sign-in' } }] };
    case 'sign-in-code':
      return {
        state: s,
        effects: t.signIn ? [{ kind: 'copy', text: t.signIn.userCode, what: 'the sign-in code' }, { kind: 'open', target: t.signIn.verificationUri }] : [],
      };
    case 'refresh': {
      if (!running) return { state: s, effects: [] };
      const requestId = newId();
      return { state: { ...withTray(s, { refreshing: true }), refreshRequestId: requestId }, effects: [{ kind: 'send', message: { type: 'refresh', requestId } }] };
    }
    case 'sign-out':
      if (!running) return { state: s, effects: [] };
      // The child forgets the tokens and clears the store; its `token` message turns the menu to ❌.
      return { state: s, effects: [{ kind: 'log', level: 'info', message: 'Signing out (menu)' }, { kind: 'send', message: { type: 'sign-out' } }] };
    case 'models':
      return { state: s, effects: requestModelsAndUsage(s, newId) };
    case 'usage':
    case 'credits':
      return { state: s, effects: [{ kind: 'send', message: { type: 'get-usage', requestId: newId() } }] };
    case 'dashboard':
      return { state: s, effects: t.proxy.kind === 'running' ? [{ kind: 'open', target: dashboardUrlFor(t.proxy.url) }] : [] };
    case 'setup-claude-code':
    case 'setup-codex':
    case 'setup-opencode':
    {
      const client = SETUP_FILE_CLIENTS.find((c) => key === `setup-${c}`);
      return { state: s, effects: running && client ? [{ kind: 'setup-client', client }] : [] };
    }
    case 'open-logs':
      return { state: s, effects: [{ kind: 'open-logs' }] };
    case 'autostart':
      return { state: s, effects: [{ kind: 'set-autostart', enable: t.autostart !== true }] };
    case 'restart':
      return { state: s, effects: [{ kind: 'log', level: 'info', message: 'Restarting the proxy (menu)' }, { kind: 'restart-proxy' }] };
    case 'quit':
      return { state: s, effects: [{ kind: 'quit' }] };
    default:
      return { state: s, effects: [] };
  }
}
