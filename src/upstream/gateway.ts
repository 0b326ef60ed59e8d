import { Readable } from 'node:stream';
import type { CopilotAuth, CopilotTokenSource } from './token-source.ts';
import { DEFAULTS, TIMEOUT_DEFAULTS, type ResolvedConfig } from '../config/schema.ts';
import { UpstreamHttpError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createBreaker } from './breaker.ts';
import type { GatewayState } from './gateway-state.ts';
import { createLimiter, type Release } from './limiter.ts';
import { UsageLimitError, type UsageLimit } from './usage-limit.ts';
import { DEFAULT_RETRY_POLICY, sleep as abortableSleep, withRetry, type RetryPolicy } from './retry.ts';

/**
 * The one door to the Copilot API for the proxy's routes. Each call goes
 * through, outermost first:
 *
 *   circuit check (503 at once while open)
 *   -> concurrency limit (bounded queue, 429 beyond it; the caller's abort leaves the queue)
 *   -> circuit breaker (one logical call = one success or failure)
 *   -> retries (network errors, timeouts, 408, 429, 5xx; backoff or Retry-After; abortable wait)
 *   -> one attempt: a fresh auth from the token manager; a 401 (or a first 403 not about the model)
 *      makes the manager refresh once (single-flight) and the call is tried once more.
 *
 * A call resolves when `fn` does, which for the Copilot client is when the
 * response headers arrive: nothing has been written to the client yet, so a
 * retry can never repeat bytes it already saw. When the value holds a stream
 * `body` (an upstream response), the concurrency slot is kept until that body
 * closes (fully read, destroyed, or aborted with the caller's signal): a
 * stream holds its slot until it ends.
 */
export interface CopilotGateway {
  /** Copilot's weekly or session limit while it holds (after it ends: null). */
  limit(): UsageLimit | null;
  /** Called when a limit starts (with it) and when it ends (with null): the tray notifies once each way. */
  onLimitChange?(fn: (limit: UsageLimit | null) => void): void;
  call<T>(what: string, signal: AbortSignal | undefined, fn: (auth: CopilotAuth, signal: AbortSignal | undefined) => Promise<T>): Promise<T>;
  /** Counters and breaker state for /health and /metrics. */
  state(): GatewayState;
  /** Stops the breaker's timers (shutdown). Idempotent. */
  close?(): void;
}

/** Knobs beyond config.json, mainly so tests and benchmarks can use short waits. */
export interface ResilienceOptions {
  /** Attempts in total per call (default 3). */
  maxAttempts: number;
  /** Backoff before retry 1, 2, 3... (default 1 s, 4 s, 9 s). */
  retryDelaysMs: readonly number[];
  /** Longest upstream Retry-After that is waited for (default 30 s); a longer one goes to the client. */
  retryAfterCapMs: number;
  /** Consecutive failed calls that open the circuit (default 5). */
  breakerThreshold: number;
  /**
   * Calls (by `what`) that skip the concurrency limit: the coalesced, cached
   * look-ups (one in flight at most), so long streams never starve them.
   */
  unlimited: readonly string[];
}

export const DEFAULT_RESILIENCE: ResilienceOptions = {
  maxAttempts: DEFAULT_RETRY_POLICY.maxAttempts,
  retryDelaysMs: DEFAULT_RETRY_POLICY.delaysMs,
  retryAfterCapMs: DEFAULT_RETRY_POLICY.retryAfterCapMs,
  breakerThreshold: 5,
  unlimited: ['models', 'usage'],
};

export interface GatewayDeps {
  tokens: CopilotTokenSource;
  log: Logger;
  /** max_concurrency, max_queue, timeouts.circuit_breaker; defaults when omitted. */
  config?: Pick<ResolvedConfig, 'max_concurrency' | 'max_queue'> & { timeouts: Pick<ResolvedConfig['timeouts'], 'circuit_breaker'> };
  resilience?: Partial<ResilienceOptions>;
  /** Injected wait (tests); must reject with the signal's reason when it aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

/** Marks a failure of the token manager (not of Copilot): never retried here, never counted by the breaker. */
class AuthPhaseFailure {
  constructor(readonly error: unknown) {}
}

/**
 * A 403 about the model rather than the token: its JSON code or message names the model and
 * its policy (`model_not_supported`, "no endpoints available for this model under your current
 * plan and policies", `no_available_model_endpoints`; github/copilot-cli#400, #461). A fresh
 * token does not change an organisation's model policy, so no exchange: the client sees it.
 * Other 403s (text `forbidden: access denied`, `unauthorized: not authorized to use this Copilot
 * feature`: copilot-cli#149, #18) stay "treat as 401 once".
 */
function isModelRefusal(err: UpstreamHttpError): boolean {
  if (err.upstreamCode !== undefined && /model/i.test(err.upstreamCode)) return true;
  return /\bmodel\b/i.test(err.message) && /polic|disabled|not enabled|not supported|not available/i.test(err.message);
}

function streamBodyOf(value: unknown): Readable | undefined {
  if (typeof value !== 'object' || value === null || !('body' in value)) return undefined;
  return value.body instanceof Readable ? value.body : undefined;
}

export function createGateway(deps: GatewayDeps): CopilotGateway {
  const opts: ResilienceOptions = { ...DEFAULT_RESILIENCE, ...deps.resilience };
  const maxConcurrency = deps.config?.max_concurrency ?? DEFAULTS.max_concurrency;
  const maxQueue = deps.config?.max_queue ?? DEFAULTS.max_queue;
  const resetSec = deps.config?.timeouts.circuit_breaker ?? TIMEOUT_DEFAULTS.circuit_breaker;
  const policy: RetryPolicy = { maxAttempts: opts.maxAttempts, delaysMs: opts.retryDelaysMs, retryAfterCapMs: opts.retryAfterCapMs };
  const unlimited = new Set(opts.unlimited);
  const limiter = createLimiter({ maxConcurrent: maxConcurrency, maxQueue, retryAfterSec: 1 });
  const breaker = createBreaker({ threshold: opts.breakerThreshold, resetMs: resetSec * 1000, log: deps.log, now: deps.now });
  const wait = deps.sleep ?? abortableSleep;
  const now = deps.now ?? Date.now;
  let inFlight = 0;
  let retries = 0;
  // Copilot's weekly/session limit, while it holds: the calls it covers never go upstream.
  let limit: UsageLimit | null = null;
  let limitRejections = 0;
  let limitTimer: NodeJS.Timeout | undefined;
  const limitListeners: Array<(l: UsageLimit | null) => void> = [];
  const announce = (l: UsageLimit | null) => {
    for (const fn of limitListeners) {
      try {
        fn(l);
      } catch (err) {
        deps.log.warn(`usage limit listener failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  const currentLimit = (): UsageLimit | null => {
    if (limit && now() >= limit.until) endLimit();
    return limit;
  };
  function endLimit(): void {
    if (!limit) return;
    deps.log.info(`Copilot's ${limit.kind} limit has ended; requests go upstream again`);
    limit = null;
    clearTimeout(limitTimer);
    announce(null);
  }
  const startLimit = (l: UsageLimit) => {
    const isNew = !limit || limit.kind !== l.kind || limit.until !== l.until;
    limit = l;
    if (!isNew) return;
    deps.log.warn(`Copilot answered with its ${l.kind} limit (${l.code}); answering model requests with 429 locally until ${new Date(l.until).toISOString()}`);
    clearTimeout(limitTimer);
    // Says so when it ends even if no request comes (capped: a timer longer than ~24.8 days overflows).
    limitTimer = setTimeout(() => currentLimit(), Math.min(Math.max(0, l.until - now()) + 50, 2_000_000_000));
    limitTimer.unref();
    announce(l);
  };

  async function attempt<T>(what: string, signal: AbortSignal | undefined, fn: (auth: CopilotAuth, signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    let auth: CopilotAuth;
    try {
      auth = await deps.tokens.getAuth(signal);
    } catch (err) {
      throw new AuthPhaseFailure(err);
    }
    try {
      return await fn(auth, signal);
    } catch (err) {
      if (err instanceof UpstreamHttpError && (err.status === 401 || (err.status === 403 && !isModelRefusal(err)))) {
        deps.log.info(`${what}: Copilot answered ${err.status}; refreshing the token and retrying once`);
        let fresh: CopilotAuth;
        try {
          fresh = await deps.tokens.handleUnauthorized(auth);
        } catch (refreshErr) {
          throw new AuthPhaseFailure(refreshErr);
        }
        return await fn(fresh, signal);
      }
      throw err;
    }
  }

  return {
    async call(what, signal, fn) {
      // Model calls under a weekly/session limit are answered here: an agent retrying in a loop costs nothing.
      const held = unlimited.has(what) ? null : currentLimit();
      if (held) {
        limitRejections += 1;
        throw new UsageLimitError(held, now());
      }
      // Fail fast while open: no queueing for an answer that is already known.
      breaker.assertCallable();
      const release: Release = unlimited.has(what) ? () => undefined : await limiter.acquire(signal);
      inFlight += 1;
      let released = false;
      const done = () => {
        if (released) return;
        released = true;
        inFlight -= 1;
        release();
      };
      let heldByStream = false;
      try {
        const value = await breaker.run(() =>
          withRetry(() => attempt(what, signal, fn), policy, {
            signal,
            sleep: wait,
            onRetry: ({ attempt: n, delayMs, reason }) => {
              retries += 1;
              deps.log.warn(`${what}: upstream attempt ${n} of ${policy.maxAttempts} failed (${reason}); retrying in ${delayMs} ms`);
            },
          }),
        );
        const body = streamBodyOf(value);
        if (body && !body.closed && !body.destroyed) {
          body.once('close', done);
          heldByStream = true;
        }
        return value;
      } catch (err) {
        if (err instanceof UsageLimitError) startLimit(err.limit);
        throw err instanceof AuthPhaseFailure ? err.error : err;
      } finally {
        if (!heldByStream) done();
      }
    },
    state() {
      const b = breaker.state();
      return {
        circuit: b.circuit,
        consecutiveFailures: b.consecutiveFailures,
        inFlight,
        queued: limiter.queued,
        retries,
        maxConcurrency,
        maxQueue,
        circuitOpens: b.opens,
        circuitRejections: b.rejections,
        overloadRejections: limiter.rejected,
        failures: b.failures,
        limit: currentLimit(),
        limitRejections,
      };
    },
    limit: currentLimit,
    onLimitChange(fn) {
      limitListeners.push(fn);
    },
    close() {
      clearTimeout(limitTimer);
      breaker.shutdown();
    },
  };
}
