import type { IpcTokenSnapshot } from '../ipc/messages.ts';
import { HEALTH_TEXT, isSignedIn } from '../auth/snapshot.ts';
import { formatDuration } from '../text/duration.ts';
import { creditsLine, premiumLine, type Credits, type UsageSummary } from '../usage/api.ts';
import { usageLimitLine, type UsageLimit } from '../upstream/usage-limit.ts';
import { SETUP_FILE_CLIENTS, baseUrlFor, dashboardUrlFor, type FileClient } from '../clients/setup.ts';
import { portHolderText, type PortHolder } from './port-holder.ts';

/**
 * The tray menu as one pure function of state. systray2's binary cannot add or
 * remove items after the first menu (update-menu only changes icon, title and
 * tooltip; update-item targets an item by the id it got at start-up), so the
 * menu has a fixed shape: every slot is always there, and state only changes
 * titles, enabled/checked flags and visibility. tray-main diffs two results of
 * buildMenu() and sends one update-item per changed slot.
 */

/** Model slots in the Models submenu; ids beyond this are listed as "… and N more". */
export const MAX_MODEL_SLOTS = 40;

export type IconKind = 'healthy' | 'warning' | 'error' | 'stopped';

export type ProxyStatus =
  | { kind: 'starting' }
  | { kind: 'running'; url: string; port: number; pid: number }
  | { kind: 'restarting'; attempt: number; delayMs: number; reason: string }
  /** `holder`: who has the port, when it is another github-copilot-svcs proxy. */
  | { kind: 'gave-up'; reason: string; portTaken: boolean; port: number | null; holder: PortHolder | null }
  | { kind: 'stopping' }
  | { kind: 'stopped' };

export interface ModelEntry {
  id: string;
  name: string;
  vendor: string;
}

/** What the tray shows of the quota: the IPC `usage` message's body (ipc/messages.ts). */
export type UsageInfo = Pick<UsageSummary, 'remaining' | 'entitlement' | 'unlimited' | 'resetDate'>;

export interface TrayState {
  proxy: ProxyStatus;
  /** Last snapshot the child sent; null before the first one. */
  token: IpcTokenSnapshot | null;
  /** Device flow waiting for the user (from `sign-in-code`). */
  signIn: { userCode: string; verificationUri: string } | null;
  /** Set while the tray waits for `sign-in-code` after the user clicked Sign in. */
  signInStarting: boolean;
  /** Last sign-in failure, shown until the next attempt. */
  signInError: string | null;
  /** null = not loaded yet. */
  models: ModelEntry[] | null;
  modelsError: string | null;
  usage: UsageInfo | null;
  usageError: string | null;
  /** This month's AI credits and the allowance (the IPC `usage` message's `credits`). */
  credits: Pick<Credits, 'month' | 'allowance' | 'resetsAt'> | null;
  /** Copilot's weekly or session limit while it holds (the IPC `limit` message). */
  limit: UsageLimit | null;
  /** Start-at-login state; null = unknown or unsupported on this platform. */
  autostart: boolean | null;
  /** A refresh the user asked for is in flight. */
  refreshing: boolean;
  /** Unix milliseconds; injected so the "expires in" text is testable. */
  now: number;
}

export type ItemKey =
  | 'status'
  | 'limit'
  | 'proxy'
  | 'sep-1'
  | 'sign-in'
  | 'sign-in-code'
  | 'refresh'
  | 'sign-out'
  | 'models'
  | `model-${number}`
  | 'usage'
  | 'credits'
  | 'dashboard'
  | 'setup'
  | `setup-${FileClient}`
  | 'sep-2'
  | 'open-logs'
  | 'autostart'
  | 'restart'
  | 'sep-3'
  | 'quit';

export interface TrayMenuItem {
  key: ItemKey;
  title: string;
  tooltip: string;
  enabled: boolean;
  checked: boolean;
  hidden: boolean;
  items?: TrayMenuItem[];
}

export interface TrayMenu {
  icon: IconKind;
  title: string;
  tooltip: string;
  items: TrayMenuItem[];
}

/** systray2's separator title. */
export const SEPARATOR = '<SEPARATOR>';

export function initialTrayState(now: number): TrayState {
  return {
    proxy: { kind: 'starting' },
    token: null,
    signIn: null,
    signInStarting: false,
    signInError: null,
    models: null,
    modelsError: null,
    usage: null,
    usageError: null,
    credits: null,
    limit: null,
    autostart: null,
    refreshing: false,
    now,
  };
}

export function statusLine(state: TrayState): string {
  const t = state.token;
  if (!t) return state.proxy.kind === 'running' ? 'Token: checking…' : 'Token: unknown (proxy not running)';
  const text = HEALTH_TEXT[t.health];
  if (t.health === 'healthy' && t.expiresAt !== null) return `${text} — expires in ${formatDuration(t.expiresAt - state.now / 1000, 'short')}`;
  return text;
}

export function iconFor(state: TrayState): IconKind {
  if (state.proxy.kind !== 'running') return 'stopped';
  const health = state.token?.health;
  if (health === 'healthy') return state.limit ? 'warning' : 'healthy';
  if (health === 'refresh_soon' || health === undefined) return 'warning';
  return 'error';
}

function proxyLine(p: ProxyStatus): { title: string; tooltip: string; enabled: boolean } {
  switch (p.kind) {
    case 'starting':
      return { title: 'Proxy: starting…', tooltip: 'The proxy is starting', enabled: false };
    case 'running': {
      const base = baseUrlFor(p.url);
      return { title: `Proxy: ${base} (running)`, tooltip: `Click to copy ${base}`, enabled: true };
    }
    case 'restarting':
      return {
        title: `Proxy: restarting in ${formatDuration(p.delayMs / 1000, 'short')} (attempt ${p.attempt})`,
        tooltip: `The proxy stopped: ${p.reason}`,
        enabled: false,
      };
    case 'gave-up':
      return p.portTaken
        ? {
            title: `Proxy: stopped — port ${p.port ?? '?'} is in use by ${portHolderText(p.holder)}`,
            tooltip: `${p.holder ? 'Stop that proxy (its tray or `run`)' : 'Free the port'} or set another one with \`github-copilot-svcs config set port N\`, then Restart proxy`,
            enabled: false,
          }
        : { title: 'Proxy: stopped — it kept crashing (see Open logs)', tooltip: p.reason, enabled: false };
    case 'stopping':
      return { title: 'Proxy: stopping…', tooltip: '', enabled: false };
    case 'stopped':
      return { title: 'Proxy: stopped', tooltip: '', enabled: false };
  }
}

function usageLine(state: TrayState): string {
  const u = state.usage;
  if (!u) return state.usageError ? 'Premium requests: unavailable' : 'Premium requests: …';
  return premiumLine(u);
}

function item(key: ItemKey, title: string, opts: Partial<Omit<TrayMenuItem, 'key' | 'title'>> = {}): TrayMenuItem {
  return { key, title, tooltip: opts.tooltip ?? '', enabled: opts.enabled ?? true, checked: opts.checked ?? false, hidden: opts.hidden ?? false, ...(opts.items ? { items: opts.items } : {}) };
}

function modelItems(state: TrayState, running: boolean): TrayMenuItem[] {
  const slots: TrayMenuItem[] = [];
  const models = state.models ?? [];
  const listed = models.length > MAX_MODEL_SLOTS ? models.slice(0, MAX_MODEL_SLOTS - 1) : models;
  for (let i = 0; i < MAX_MODEL_SLOTS; i++) {
    const m = listed[i];
    if (m) {
      slots.push(item(`model-${i}`, m.id, { tooltip: `${m.name} (${m.vendor}) — click to copy the id` }));
      continue;
    }
    // Slot 0 always shows something so the submenu is never empty (GTK drops empty submenus).
    if (i === 0) {
      const title = !running
        ? 'Proxy not running'
        : state.models === null
          ? state.modelsError
            ? `Could not load models: ${state.modelsError}`
            : 'Loading models…'
          : 'No models available';
      slots.push(item('model-0', title, { enabled: false }));
      continue;
    }
    if (i === listed.length && models.length > listed.length) {
      slots.push(item(`model-${i}`, `… and ${models.length - listed.length} more (see /v1/models)`, { enabled: false }));
      continue;
    }
    slots.push(item(`model-${i}`, '', { enabled: false, hidden: true }));
  }
  return slots;
}

const SETUP_TITLES: Record<FileClient, string> = { 'claude-code': 'Claude Code', codex: 'Codex', opencode: 'opencode' };

export function buildMenu(state: TrayState): TrayMenu {
  const running = state.proxy.kind === 'running';
  const status = statusLine(state);
  const proxy = proxyLine(state.proxy);
  const signedIn = state.token !== null && isSignedIn(state.token);
  const signingIn = state.signIn !== null || state.signInStarting;

  let signInTitle = signedIn ? 'Sign in again with GitHub…' : 'Sign in with GitHub…';
  let signInTooltip = 'Opens GitHub in your browser; the code is copied to the clipboard';
  if (signingIn) {
    signInTitle = 'Cancel sign-in';
    signInTooltip = 'Stop waiting for the code to be entered';
  } else if (state.signInError) signInTooltip = `Last attempt failed: ${state.signInError}`;

  const code = state.signIn
    ? item('sign-in-code', `Enter code ${state.signIn.userCode} at ${state.signIn.verificationUri.replace(/^https?:\/\//, '')}`, {
        tooltip: 'Copied to the clipboard; click to copy it again and reopen the page',
      })
    : item('sign-in-code', state.signInStarting ? 'Asking GitHub for a code…' : '', { enabled: false, hidden: !state.signInStarting });

  const canRefresh = running && state.token?.hasGithubToken === true && !state.refreshing;

  const items: TrayMenuItem[] = [
    item('status', status, { enabled: false, tooltip: state.token?.lastError ? `Last error: ${state.token.lastError}` : '' }),
    item('limit', state.limit ? `⚠️ ${usageLimitLine(state.limit)}` : '', {
      enabled: false,
      hidden: state.limit === null,
      tooltip: state.limit ? `Copilot said: ${state.limit.message}. Requests are answered 429 here until then, at no cost.` : '',
    }),
    item('proxy', proxy.title, { enabled: proxy.enabled, tooltip: proxy.tooltip }),
    item('sep-1', SEPARATOR),
    item('sign-in', signInTitle, { enabled: running, tooltip: signInTooltip }),
    code,
    item('refresh', state.refreshing ? 'Refreshing token…' : 'Refresh token now', { enabled: canRefresh }),
    // No submenu: hiding it is safe (see "Models" below).
    item('sign-out', 'Sign out', {
      enabled: running && state.token?.hasGithubToken === true,
      hidden: state.token?.hasGithubToken !== true,
      tooltip: 'Forget the GitHub sign-in here (keychain entry and token file); GitHub keeps the authorisation until you revoke it',
    }),
    // Never hidden: toggling `hidden` on an item with a submenu loses the submenu (systray2 known issue).
    item('models', 'Models', { items: modelItems(state, running) }),
    item('usage', usageLine(state), {
      enabled: running && signedIn,
      tooltip: state.usageError ?? (state.usage?.entitlement != null ? `${state.usage.entitlement} a month; click to update` : 'Click to update'),
    }),
    item('credits', state.credits ? creditsLine(state.credits) : 'AI credits: …', {
      enabled: running,
      tooltip: state.credits
        ? `Through this proxy since ${state.credits.month.since.slice(0, 10)}${state.credits.allowance === null ? '; set monthly_credits in config.json to see the allowance' : ''}; click to update`
        : 'Click to update',
    }),
    item('dashboard', 'Open dashboard', {
      enabled: running,
      tooltip: state.proxy.kind === 'running' ? `${dashboardUrlFor(state.proxy.url)}: usage, live requests, models and client set-up` : 'The proxy is not running',
    }),
    // Never hidden (a submenu): the same `setup <client>` as the CLI, into the client's own config file.
    item('setup', 'Set up a client…', {
      items: SETUP_FILE_CLIENTS.map((c) =>
        item(`setup-${c}`, SETUP_TITLES[c], { enabled: running, tooltip: `Writes ${SETUP_TITLES[c]}'s own config for this proxy (merged, backed up; undo: setup ${c} --undo)` }),
      ),
    }),
    item('sep-2', SEPARATOR),
    item('open-logs', 'Open logs'),
    item('autostart', 'Start at login', {
      checked: state.autostart === true,
      enabled: state.autostart !== null,
      tooltip: state.autostart === null ? 'Not available on this system' : '',
    }),
    item('restart', 'Restart proxy', { enabled: state.proxy.kind !== 'stopping' && state.proxy.kind !== 'starting' }),
    item('sep-3', SEPARATOR),
    item('quit', 'Quit'),
  ];

  const proxyShort = running ? baseUrlFor((state.proxy as { url: string }).url) : proxy.title.replace(/^Proxy: /, '');
  const limited = state.limit ? `\n${usageLimitLine(state.limit)}` : '';
  return { icon: iconFor(state), title: '', tooltip: `GitHub Copilot proxy — ${status}${limited}\n${proxyShort}`, items };
}

/** Depth-first, parent before children, from 1: the same numbering systray2 gives items at start-up. */
export function assignIds(items: TrayMenuItem[]): Map<ItemKey, number> {
  const ids = new Map<ItemKey, number>();
  let next = 1;
  const walk = (list: TrayMenuItem[]): void => {
    for (const it of list) {
      ids.set(it.key, next++);
      if (it.items) walk(it.items);
    }
  };
  walk(items);
  return ids;
}

/** Every item, submenu items included, in id order. */
export function flattenItems(items: TrayMenuItem[]): TrayMenuItem[] {
  const out: TrayMenuItem[] = [];
  for (const it of items) {
    out.push(it);
    if (it.items) out.push(...flattenItems(it.items));
  }
  return out;
}

/** Keys whose visible fields differ between two menus of the same shape. */
export function changedKeys(prev: TrayMenu, next: TrayMenu): ItemKey[] {
  const a = flattenItems(prev.items);
  const b = flattenItems(next.items);
  const changed: ItemKey[] = [];
  for (let i = 0; i < b.length; i++) {
    const x = a[i];
    const y = b[i]!;
    if (!x || x.key !== y.key || x.title !== y.title || x.tooltip !== y.tooltip || x.enabled !== y.enabled || x.checked !== y.checked || x.hidden !== y.hidden)
      changed.push(y.key);
  }
  return changed;
}
