import { Readable } from 'node:stream';
import type { CopilotAuth, CopilotTokenSource } from './token-source.ts';
import { DEFAULTS, TIMEOUT_DEFAULTS, type ResolvedConfig } from '../config/schema.ts';
import { UpstreamHttpError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createBreaker } from './breaker.ts';
import type { GatewayState } from './gateway-state.ts';
import { createLimiter, type Release } from './limiter.ts';
import { DEFAULT_RETRY_POLICY, sleep as abortableSleep, withRetry, type RetryPolicy } from './retry.ts';

/**
 * The one door to the Copilot API for the proxy's routes. Each call goes
 * through, outermost first:
 *
 *   circuit check (503 at once while open)
 *   -> concurrency limit (bounded queue, 429 beyond it; the caller's abort leaves the queue)
 *   -> circuit breaker (one logical call = one success or failure)
 *   -> retries (network errors, timeouts, 408, 429, 5xx; backoff or Retry-After; abortable wait)
 *   -> one attempt: a fresh auth from the token manager; a 401 (or a first 403)
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
  let inFlight = 0;
  let retries = 0;

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
      if (err instanceof UpstreamHttpError && (err.status === 401 || err.status === 403)) {
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
      };
    },
    close() {
      breaker.shutdown();
    },
  };
}
