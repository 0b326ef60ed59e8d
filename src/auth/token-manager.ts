import { setTimeout as delay } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { DEFAULT_COPILOT_API_URL, type ResolvedConfig } from '../config/schema.ts';
import { AuthRequiredError, ConfigError, GithubAuthRejectedError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { exchangeCopilotToken, type CopilotTokenResponse, type GithubDeps } from '../upstream/github-client.ts';
import { withRetry, type RetryPolicy } from '../upstream/retry.ts';
import { runDeviceFlow, type DeviceCodePrompt } from './device-flow.ts';
import { chooseTokens } from './loading.ts';
import { runSignInLoop } from './sign-in.ts';
import type { StoredTokens, TokenStore } from './token-store.ts';
import type { CopilotAuth, OAuthApp, TokenManager, TokenSnapshot, TokenState } from './types.ts';
import { ENV_GITHUB_TOKEN } from '../config/env.ts';
import { MIN_VALID_SEC, REFRESH_RETRY_DELAYS_MS, RETRY_LATER_MS, computeHealth, refreshAtSec } from './refresh-policy.ts';
// setTimeout's limit; Copilot tokens live 30 min, but a hand-edited store could say anything.
const MAX_TIMER_MS = 2_147_483_647;

export interface AutoSignInOptions {
  /** Open the verification page (tray); omitted = only log the URL and code (`run`). */
  openBrowser?: (url: string) => Promise<void> | void;
  /** Called with each new code (the tray shows it; `run` relies on the log line). */
  onCode?: (prompt: DeviceCodePrompt) => void;
}

export interface TimerApi {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface TokenManagerDeps {
  config: ResolvedConfig;
  /** The command as the user started it, for "run '<command> auth'" (runtime/self.ts). */
  command?: string;
  store: TokenStore;
  /** The upstream connection pool, or how to make it on first use (a command that only looks never loads undici). */
  dispatcher: Dispatcher | (() => Dispatcher);
  log: Logger;
  /** Defaults to process.env; only GITHUB_COPILOT_SVCS_GITHUB_TOKEN is read (used, never written). */
  env?: NodeJS.ProcessEnv;
  /** Epoch ms. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Refresh timers; the default ones are unref'd so they never keep a process alive. */
  timers?: TimerApi;
  retryDelaysMs?: readonly number[];
  /**
   * A one-shot command's manager (`refresh`): a refresh is tried once, and a
   * failure is neither logged (the command reports it) nor tried again later.
   */
  oneShot?: boolean;
  /**
   * When GitHub rejects the token (or none is stored), start a device flow and
   * log the URL and code once per code, re-issuing expired codes. `run` sets it.
   */
  autoSignIn?: boolean | AutoSignInOptions;
  /** For tests: replace the exchange call. */
  exchange?: (deps: GithubDeps, githubToken: string) => Promise<CopilotTokenResponse>;
  /** For tests: replace the device flow. */
  deviceFlow?: typeof runDeviceFlow;
}

/** The manager plus what the tray and `auth` need beyond the shared contract. */
export interface ManagedTokenManager extends TokenManager {
  /** Read the stored tokens (once) without refreshing; for one-shot CLI commands that only look. */
  load(): Promise<TokenSnapshot>;
  /** Start a device flow (single-flight); resolves when signed in, cancelled or failed. */
  signIn(opts?: AutoSignInOptions): Promise<TokenSnapshot>;
  cancelSignIn(): void;
  /** Adopt a GitHub token (device flow result, `auth --token`): save it, and exchange it (vscode). */
  setGithubToken(githubToken: string, oauthApp?: OAuthApp): Promise<TokenSnapshot>;
  /** Sign out: cancel a pending sign-in, forget the tokens and remove them from the store (keychain and file). */
  signOut(): Promise<TokenSnapshot>;
  /** The last failed refresh's error (null after a success): what a command reads to tell "GitHub was not reached" from an answer. */
  lastFailure(): unknown;
}

const unrefTimers: TimerApi = {
  set(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> => delay(ms, undefined, { signal });

/**
 * One per process; owns the GitHub token and the Copilot token. Refresh is
 * single-flight; timer callbacks never throw.
 */
export function createTokenManager(deps: TokenManagerDeps): ManagedTokenManager {
  const { config, store, log } = deps;
  const command = deps.command ?? 'github-copilot-svcs';
  const env = deps.env ?? process.env;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const timers = deps.timers ?? unrefTimers;
  const retryDelays = deps.retryDelaysMs ?? REFRESH_RETRY_DELAYS_MS;
  const exchange = deps.exchange ?? exchangeCopilotToken;
  const deviceFlow = deps.deviceFlow ?? runDeviceFlow;
  const autoSignIn: AutoSignInOptions | null = deps.autoSignIn ? (deps.autoSignIn === true ? {} : deps.autoSignIn) : null;
  const nowSec = () => Math.floor(now() / 1000);

  let tokens: StoredTokens | null = null;
  let fromEnv = false;
  let state: TokenState = 'not_signed_in';
  let lastError: string | null = null;
  let lastFailure: unknown = null;
  let pendingSignIn: TokenSnapshot['pendingSignIn'] = null;
  let loaded: Promise<void> | null = null;
  let flight: Promise<CopilotAuth> | null = null;
  let signInFlight: Promise<TokenSnapshot> | null = null;
  let signInAbort: AbortController | null = null;
  let timer: unknown = null;
  let stopped = false;
  let lifetime = new AbortController();
  const listeners = new Set<(s: TokenSnapshot) => void>();

  const oauthApp = (): OAuthApp => tokens?.oauth_app ?? config.oauth_app;
  const apiBase = (): string => config.copilot_api_url ?? (oauthApp() === 'vscode' ? tokens?.api_base : undefined) ?? DEFAULT_COPILOT_API_URL;
  const dispatcher = (): Dispatcher => (typeof deps.dispatcher === 'function' ? deps.dispatcher() : deps.dispatcher);
  const githubDeps = (signal?: AbortSignal): GithubDeps => ({ dispatcher: dispatcher(), config, signal });

  function snapshot(): TokenSnapshot {
    const app = oauthApp();
    const hasGithubToken = tokens !== null;
    return {
      state,
      health: computeHealth({
        hasGithubToken,
        needsAuth: state === 'needs_auth',
        oauthApp: app,
        expiresAt: tokens?.copilot_token ? (tokens.expires_at ?? null) : null,
        obtainedAt: tokens?.obtained_at ?? null,
        nowSec: nowSec(),
      }),
      expiresAt: app === 'vscode' && tokens?.copilot_token ? (tokens.expires_at ?? null) : null,
      refreshIn: app === 'vscode' && tokens?.copilot_token ? (tokens.refresh_in ?? null) : null,
      hasGithubToken,
      oauthApp: app,
      store: fromEnv ? 'env' : store.kind,
      apiBase: apiBase(),
      lastError,
      pendingSignIn,
    };
  }

  function emit(): void {
    const s = snapshot();
    for (const l of listeners) {
      try {
        l(s);
      } catch (err) {
        log.warn(`token listener failed: ${message(err)}`);
      }
    }
  }

  function authRequired(): AuthRequiredError {
    const how = pendingSignIn
      ? `Open ${pendingSignIn.verificationUri} and enter the code ${pendingSignIn.userCode}, or run \`${command} auth\`.`
      : `Run \`${command} auth\` (or use "Sign in with GitHub…" in the tray).`;
    if (state === 'needs_auth') return new AuthRequiredError(`GitHub rejected the stored GitHub token; sign in again. ${how}`);
    return new AuthRequiredError(`Not signed in to GitHub Copilot. ${how}`);
  }

  function remember(t: StoredTokens | null): void {
    tokens = t;
    if (t) {
      log.addSecret(t.github_token);
      if (t.copilot_token) log.addSecret(t.copilot_token);
    }
  }

  /** Read the env token or the store (once, or again with `force`). */
  async function load(force = false): Promise<void> {
    if (loaded && !force) return loaded;
    loaded = (async () => {
      const envToken = env[ENV_GITHUB_TOKEN];
      let stored: StoredTokens | null = null;
      if (!envToken) {
        try {
          stored = await store.load();
        } catch (err) {
          // A refused symlink (or another config problem) stops the command with exit 2; nothing was changed.
          if (err instanceof ConfigError) throw err;
          log.warn(`Cannot read the token store: ${message(err)}`);
        }
      }
      const choice = chooseTokens({ envToken, stored, held: tokens, config });
      fromEnv = choice.fromEnv;
      if (choice.problem) {
        lastError = choice.problem;
        log.warn(choice.problem);
      }
      if (choice.note) log.warn(choice.note);
      if (choice.tokens || !tokens || force || fromEnv) remember(choice.tokens);
      if (!tokens) state = 'not_signed_in';
      else if (state === 'not_signed_in' || force) state = 'ok';
    })();
    return loaded;
  }

  function copilotValid(minSec = MIN_VALID_SEC): boolean {
    if (!tokens) return false;
    if (tokens.oauth_app === 'opencode') return true;
    return Boolean(tokens.copilot_token) && (tokens.expires_at ?? 0) - nowSec() > minSec;
  }

  function currentAuth(): CopilotAuth {
    if (!tokens) throw authRequired();
    if (tokens.oauth_app === 'opencode') return { token: tokens.github_token, apiBase: apiBase() };
    if (!tokens.copilot_token) throw new AuthRequiredError('No Copilot token yet.');
    return { token: tokens.copilot_token, apiBase: apiBase() };
  }

  async function persist(): Promise<void> {
    if (fromEnv || !tokens) return; // an env token is never written
    try {
      await store.save(tokens);
    } catch (err) {
      log.warn(`Cannot save the tokens: ${message(err)}`);
    }
  }

  function schedule(ms: number): void {
    if (timer !== null) timers.clear(timer);
    timer = null;
    if (stopped) return;
    timer = timers.set(() => {
      timer = null;
      // A timer callback never throws: errors are logged and the state says what happened.
      void joinFlight().catch((err: unknown) => {
        if (!(err instanceof AuthRequiredError)) log.warn(`Scheduled token refresh failed: ${message(err)}`);
      });
    }, Math.min(Math.max(0, ms), MAX_TIMER_MS));
  }

  function scheduleNext(): void {
    if (!tokens || tokens.oauth_app === 'opencode' || state === 'needs_auth') return;
    if (!tokens.copilot_token || tokens.expires_at === undefined) return schedule(0);
    const at = refreshAtSec({ expiresAt: tokens.expires_at, obtainedAt: tokens.obtained_at ?? null, refreshIn: tokens.refresh_in ?? null });
    schedule(at * 1000 - now());
  }

  function enterNeedsAuth(err: GithubAuthRejectedError | string): void {
    const first = state !== 'needs_auth';
    state = 'needs_auth';
    lastError = typeof err === 'string' ? err : err.message;
    if (tokens) tokens = { ...tokens, copilot_token: undefined, expires_at: undefined, refresh_in: undefined, obtained_at: undefined };
    if (timer !== null) timers.clear(timer);
    timer = null;
    if (first) {
      log.error(
        `${lastError}. Requests get 401 until you sign in again: run \`${command} auth\`${autoSignIn ? ' (a sign-in has been started, see below)' : ''}.`,
      );
    }
    emit();
    if (autoSignIn && !stopped) void startSignIn(autoSignIn);
  }

  /** One exchange (with retries) at a time; everyone waiting shares it. */
  function joinFlight(signal?: AbortSignal): Promise<CopilotAuth> {
    flight ??= doRefresh().finally(() => {
      flight = null;
    });
    return signal ? raceAbort(flight, signal) : flight;
  }

  async function doRefresh(): Promise<CopilotAuth> {
    await load();
    if (!tokens) {
      state = 'not_signed_in';
      emit();
      throw authRequired();
    }
    if (state === 'needs_auth') throw authRequired();
    if (tokens.oauth_app === 'opencode') {
      state = 'ok';
      return currentAuth();
    }
    const githubToken = tokens.github_token;
    // The shared retry helper: only retryable failures (network, timeouts, 408, 429, 5xx) are tried again, after 2 s, 8 s, 18 s.
    // Once a whole cycle has failed (state error: offline, GitHub down), the next one (a client's request, the 60 s timer) is
    // tried once: each request waited the 28 s of retries before its 502 while offline, and a request after the network is
    // back still succeeds at once.
    const attempts = state === 'error' || deps.oneShot ? 1 : retryDelays.length + 1;
    state = 'refreshing';
    emit();
    const policy: RetryPolicy = { maxAttempts: attempts, delaysMs: retryDelays, retryAfterCapMs: retryDelays.at(-1) ?? 0 };
    let r: CopilotTokenResponse;
    try {
      r = await withRetry(() => exchange(githubDeps(lifetime.signal), githubToken), policy, {
        signal: lifetime.signal,
        sleep,
        onRetry: ({ attempt, delayMs, reason }) => log.warn(`Copilot token refresh failed (${reason}); retry ${attempt}/${retryDelays.length} in ${delayMs / 1000} s`),
      });
    } catch (err) {
      if (err instanceof GithubAuthRejectedError) {
        enterNeedsAuth(err);
        throw authRequired();
      }
      state = 'error';
      if (stopped) {
        lastError = 'token manager stopped';
        throw err;
      }
      lastError = `Copilot token refresh failed: ${message(err)}`;
      lastFailure = err;
      if (!deps.oneShot) {
        log.warn(`${lastError}; trying again in 60 s`);
        schedule(RETRY_LATER_MS);
      }
      emit();
      throw err;
    }
    if (!tokens || tokens.github_token !== githubToken) throw authRequired(); // signed out meanwhile
    log.addSecret(r.token);
    tokens = {
      ...tokens,
      copilot_token: r.token,
      expires_at: r.expires_at,
      refresh_in: r.refresh_in,
      obtained_at: nowSec(),
      ...(r.endpoints?.api ? { api_base: r.endpoints.api.replace(/\/+$/, '') } : {}),
    };
    state = 'ok';
    lastError = null;
    lastFailure = null;
    await persist();
    scheduleNext();
    emit();
    log.debug(`Copilot token refreshed; expires in ${r.expires_at - nowSec()} s`);
    return currentAuth();
  }

  async function startSignIn(opts: AutoSignInOptions = {}): Promise<TokenSnapshot> {
    if (signInFlight) return signInFlight;
    const ac = new AbortController();
    signInAbort = ac;
    const signal = AbortSignal.any([ac.signal, lifetime.signal]);
    const app = config.oauth_app;
    signInFlight = (async (): Promise<TokenSnapshot> => {
      const outcome = await runSignInLoop({
        config,
        dispatcher: dispatcher(),
        log,
        deviceFlow,
        signal,
        now,
        sleep,
        retryUnreachable: autoSignIn !== null,
        ...(opts.openBrowser ? { openBrowser: opts.openBrowser } : {}),
        onPending: (p) => {
          pendingSignIn = p ? { verificationUri: p.verificationUri, userCode: p.userCode, expiresAt: p.expiresAt } : null;
          if (p) {
            emit();
            opts.onCode?.(p);
          }
        },
        onChange: emit,
      });
      if (outcome.kind === 'token') return await adopt(outcome.githubToken, app);
      if (outcome.kind === 'failed') {
        lastError = outcome.error;
        emit();
      }
      return snapshot();
    })().finally(() => {
      signInFlight = null;
      signInAbort = null;
    });
    return signInFlight;
  }

  /** A new GitHub token: remember, save, exchange (vscode). */
  async function adopt(githubToken: string, app: OAuthApp): Promise<TokenSnapshot> {
    await load();
    fromEnv = false;
    remember({ github_token: githubToken, oauth_app: app, ...(config.enterprise_url ? { enterprise_url: config.enterprise_url } : {}) });
    state = 'ok';
    lastError = null;
    if (flight) await flight.catch(() => undefined); // let a refresh of the old token finish first
    await persist();
    if (app === 'vscode') {
      try {
        await joinFlight();
      } catch {
        /* state and lastError say what happened */
      }
    } else emit();
    return snapshot();
  }

  const manager: ManagedTokenManager = {
    async getAuth(signal) {
      signal?.throwIfAborted();
      await load();
      if (!tokens || state === 'needs_auth') throw authRequired();
      if (copilotValid()) return currentAuth();
      return joinFlight(signal);
    },

    async handleUnauthorized(failed) {
      await load();
      if (!tokens || state === 'needs_auth') throw authRequired();
      if (tokens.oauth_app === 'opencode') {
        // No exchange to redo: the only fix is a different GitHub token, perhaps signed in by another process.
        await load(true);
        if (tokens && tokens.github_token !== failed.token) return currentAuth();
        enterNeedsAuth('The Copilot API rejected the GitHub token');
        throw authRequired();
      }
      // Someone already refreshed since `failed` was handed out.
      if (tokens.copilot_token !== failed.token && copilotValid()) return currentAuth();
      if (flight) return flight;
      if (tokens.copilot_token === failed.token) tokens = { ...tokens, copilot_token: undefined, expires_at: undefined };
      return joinFlight();
    },

    lastFailure: () => lastFailure,
    async refresh() {
      // Re-read the store: `auth` in another process may have signed in meanwhile.
      if (!flight) {
        await load(true);
        if (state === 'needs_auth' && tokens) state = 'ok';
      }
      try {
        await joinFlight();
      } catch {
        /* state and lastError say what happened */
      }
      return snapshot();
    },

    async getGithubToken() {
      await load();
      if (!tokens || state === 'needs_auth') throw authRequired();
      return tokens.github_token;
    },

    snapshot,

    async load() {
      await load();
      return snapshot();
    },

    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async start() {
      stopped = false;
      if (lifetime.signal.aborted) lifetime = new AbortController();
      await load();
      if (!tokens) {
        if (lastError === null) log.warn(`Not signed in to GitHub Copilot. Run \`${command} auth\`.`);
        if (autoSignIn) void startSignIn(autoSignIn);
        emit();
        return;
      }
      if (tokens.oauth_app === 'vscode' && !copilotValid()) {
        // In the background: start-up never waits for GitHub.
        void joinFlight().catch((err: unknown) => {
          if (!(err instanceof AuthRequiredError)) log.warn(`Initial token refresh failed: ${message(err)}`);
        });
      } else scheduleNext();
      emit();
    },

    stop() {
      if (stopped) return;
      stopped = true;
      if (timer !== null) timers.clear(timer);
      timer = null;
      lifetime.abort();
    },

    signIn(opts) {
      return startSignIn(opts);
    },

    cancelSignIn() {
      signInAbort?.abort();
    },

    async setGithubToken(githubToken, app) {
      return adopt(githubToken, app ?? config.oauth_app);
    },

    async signOut() {
      signInAbort?.abort();
      await load();
      if (timer !== null) timers.clear(timer);
      timer = null;
      // A refresh in flight sees the tokens gone and does not save (doRefresh's "signed out meanwhile").
      tokens = null;
      state = 'not_signed_in';
      lastError = null;
      pendingSignIn = null;
      await store.clear();
      // A token from the environment is not ours to remove: it is used again on the next load.
      emit();
      return snapshot();
    },
  };
  return manager;
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
