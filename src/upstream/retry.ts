import { AppError, UpstreamHttpError, UpstreamTimeoutError } from '../errors.ts';

/**
 * Retries for upstream calls. Only `isRetryable` errors are retried (network
 * errors, timeouts, 408, 429, 5xx: decided when the error was built); 400, 401,
 * 402, 403, 404, 413 never are. A gateway call resolves when the upstream's
 * headers arrive, before the route writes anything to its client, so every
 * retry happens before the first byte went out.
 */
export interface RetryPolicy {
  /** Attempts in total, the first one included. */
  maxAttempts: number;
  /** Wait before retry n (1-based) is `delaysMs[n-1]` (the last entry repeats). */
  delaysMs: readonly number[];
  /**
   * The upstream's Retry-After is honoured up to this; a longer Retry-After is
   * not waited for: the error goes to the client with that Retry-After.
   */
  retryAfterCapMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 3, delaysMs: [1000, 4000, 9000], retryAfterCapMs: 30_000 };

export type RetryDecision = { retry: true; delayMs: number; reason: string } | { retry: false; reason: string };

/** Pure: whether attempt `attempt` (1-based) that failed with `err` is tried again, and after how long. */
export function retryDecision(err: unknown, attempt: number, policy: RetryPolicy): RetryDecision {
  const reason = describeFailure(err);
  if (!(err instanceof AppError) || !err.isRetryable) return { retry: false, reason };
  if (attempt >= policy.maxAttempts) return { retry: false, reason: `${reason}; no attempts left` };
  // A silent upstream costs a full wait each time: its 504 comes within first_byte plus one retry, not three waits.
  if (err instanceof UpstreamTimeoutError && attempt >= 2) return { retry: false, reason: `${reason}; a silent upstream is tried twice at most` };
  const retryAfterSec = err instanceof UpstreamHttpError ? err.retryAfterSec : undefined;
  if (retryAfterSec !== undefined) {
    const ms = Math.round(retryAfterSec * 1000);
    if (ms > policy.retryAfterCapMs) return { retry: false, reason: `${reason}; Retry-After ${retryAfterSec} s is longer than we wait` };
    return { retry: true, delayMs: ms, reason: `${reason}, Retry-After ${retryAfterSec} s` };
  }
  const delays = policy.delaysMs;
  const delayMs = delays[Math.min(attempt - 1, delays.length - 1)] ?? 0;
  return { retry: true, delayMs, reason };
}

/** A short, token-free description of why an attempt failed, for the log. */
export function describeFailure(err: unknown): string {
  if (err instanceof UpstreamHttpError) return `HTTP ${err.status}: ${err.message.replace(/\s+/g, ' ').slice(0, 160)}`;
  if (err instanceof AppError) return `${err.code}: ${err.message.slice(0, 160)}`;
  if (err instanceof Error) return `${err.name}: ${err.message.slice(0, 160)}`;
  return String(err).slice(0, 160);
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryHooks {
  signal?: AbortSignal;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Called before each wait: log it, count it. */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

/** Runs `attempt(n)` until it succeeds, fails for good, or the signal aborts (the wait is cut short at once). */
export async function withRetry<T>(attempt: (n: number) => Promise<T>, policy: RetryPolicy, hooks: RetryHooks = {}): Promise<T> {
  const wait = hooks.sleep ?? sleep;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (hooks.signal?.aborted) throw hooks.signal.reason ?? err;
      const d = retryDecision(err, n, policy);
      if (!d.retry) throw err;
      hooks.onRetry?.({ attempt: n, delayMs: d.delayMs, reason: d.reason });
      await wait(d.delayMs, hooks.signal);
    }
  }
}
