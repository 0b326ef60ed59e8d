import { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';
import type { GatewayState } from './gateway-state.ts';
import { AppError, CircuitOpenError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { describeFailure } from './retry.ts';

export type CircuitState = GatewayState['circuit'];

export interface BreakerState {
  circuit: CircuitState;
  consecutiveFailures: number;
  /** Times the circuit opened since start. */
  opens: number;
  /** Calls turned away with 503 while open. */
  rejections: number;
  /** Calls that failed and counted against the circuit, since start. */
  failures: number;
}

export interface Breaker {
  /** Runs `job` through the circuit; CircuitOpenError at once while it is open. */
  run<T>(job: () => Promise<T>): Promise<T>;
  /** Throws CircuitOpenError when a call now would be turned away (lets callers fail before queueing). */
  assertCallable(): void;
  state(): BreakerState;
  /** Stops opossum's timers. Idempotent. */
  shutdown(): void;
}

export interface BreakerOptions {
  /** Consecutive failed calls that open the circuit. */
  threshold: number;
  /** How long the circuit stays open before one probe call is let through (half-open). */
  resetMs: number;
  log: Logger;
  now?: () => number;
}

/**
 * Upstream trouble counts against the circuit (network errors, timeouts, 408,
 * 429, 5xx: the retryable ones). Client errors, auth errors and the caller's own
 * abort neither count nor reset the run of failures.
 */
export function countsAsFailure(err: unknown): boolean {
  return err instanceof AppError && err.isRetryable;
}

function isOpossumReject(err: unknown): boolean {
  return err instanceof Error && 'code' in err && (err.code === 'EOPENBREAKER' || err.code === 'ESHUTDOWN');
}

/**
 * opossum around the Copilot API, tuned to "open after N consecutive failures":
 * opossum's own trigger is a rolling error percentage, so it is set out of reach
 * (errorThresholdPercentage 100: it opens only when the rate is above 100 %) and
 * we open it ourselves when the run of failures reaches the threshold. opossum
 * still does the rest: the reset timer, half-open with exactly one probe (the
 * first call after `resetTimeout`; concurrent ones are rejected), closing on the
 * probe's success and reopening on its failure. Its own call timeout is off:
 * undici's per-attempt timeouts decide.
 */
export function createBreaker(opts: BreakerOptions): Breaker {
  const now = opts.now ?? Date.now;
  const cb = new CircuitBreaker<[() => Promise<void>], void>((job) => job(), {
    name: 'copilot',
    timeout: false,
    resetTimeout: opts.resetMs,
    errorThresholdPercentage: 100,
    volumeThreshold: 0,
    rollingPercentilesEnabled: false,
    enableSnapshots: false,
    // opossum rotates its rolling-stats window on a 1 s interval unless a controller drives it; we
    // count consecutive failures ourselves and never read that window, so a silent controller keeps
    // an idle proxy from waking every second (#22).
    rotateBucketController: new EventEmitter(),
    // Filtered errors are "not a failure" to opossum; in half-open a filtered error
    // (e.g. a 400: Copilot answered) closes the circuit, which is right.
    errorFilter: (err: unknown) => !countsAsFailure(err),
  });
  let consecutive = 0;
  let opens = 0;
  let rejections = 0;
  let failures = 0;
  let openedAt = 0;
  let lastFailure = '';
  let probing = false;

  // opossum emits 'failure' before it reopens a half-open circuit, so the reason is current here.
  cb.on('failure', (err: unknown) => {
    lastFailure = describeFailure(err);
  });
  cb.on('open', () => {
    opens += 1;
    openedAt = now();
    const why = probing ? 'the half-open probe failed' : `${consecutive} consecutive upstream failures`;
    probing = false;
    opts.log.warn(
      `circuit breaker OPEN: ${why} (last: ${lastFailure}); requests get 503 for ${Math.ceil(opts.resetMs / 1000)} s, then one probe is let through`,
    );
  });
  cb.on('halfOpen', () => {
    probing = true;
    opts.log.info('circuit breaker HALF-OPEN: the next request is a probe');
  });
  cb.on('close', () => {
    probing = false;
    opts.log.info('circuit breaker CLOSED: Copilot answers again');
  });

  const circuit = (): CircuitState => (cb.closed ? 'closed' : cb.halfOpen ? 'half_open' : 'open');
  const retryAfterSec = () => (cb.halfOpen ? 1 : Math.max(1, Math.ceil((openedAt + opts.resetMs - now()) / 1000)));
  const reject = () => {
    rejections += 1;
    return new CircuitOpenError(retryAfterSec());
  };

  return {
    async run<T>(job: () => Promise<T>): Promise<T> {
      // opossum's fire() resolves with the action's value typed as its own TR;
      // carrying the value out through a closure keeps T without a cast.
      let out: { value: T } | undefined;
      try {
        await cb.fire(async () => {
          out = { value: await job() };
        });
      } catch (err) {
        if (isOpossumReject(err)) throw reject();
        if (countsAsFailure(err)) {
          failures += 1;
          consecutive += 1;
          if (consecutive >= opts.threshold && cb.closed) cb.open();
        }
        throw err;
      }
      consecutive = 0;
      if (!out) throw new Error('circuit breaker: the job resolved without a value');
      return out.value;
    },
    assertCallable() {
      if (!cb.closed && !cb.pendingClose) throw reject();
    },
    state() {
      return { circuit: circuit(), consecutiveFailures: consecutive, opens, rejections, failures };
    },
    shutdown() {
      if (!cb.isShutdown) cb.shutdown();
    },
  };
}
