import { OverloadedError } from '../errors.ts';

/** Gives back a slot. Safe to call more than once: only the first call counts. */
export type Release = () => void;

export interface Limiter {
  /**
   * Waits for one of `maxConcurrent` slots. Throws OverloadedError at once when
   * `maxQueue` callers are already waiting, and the signal's reason when the
   * caller gives up while queued (its place in the queue is dropped at once).
   */
  acquire(signal?: AbortSignal): Promise<Release>;
  readonly active: number;
  readonly queued: number;
  /** Callers turned away because the queue was full. */
  readonly rejected: number;
}

export interface LimiterOptions {
  maxConcurrent: number;
  maxQueue: number;
  /** Retry-After for the 429 when the queue is full. */
  retryAfterSec?: number;
}

interface Waiter {
  grant: (release: Release) => void;
}

/** A counting semaphore with a bounded FIFO queue. No timers: waiting costs nothing but memory. */
export function createLimiter(opts: LimiterOptions): Limiter {
  let active = 0;
  let rejected = 0;
  const queue: Waiter[] = [];

  const makeRelease = (): Release => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = queue.shift();
      // Hand the slot straight to the next waiter: `active` stays the same.
      if (next) next.grant(makeRelease());
      else active -= 1;
    };
  };

  return {
    acquire(signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (active < opts.maxConcurrent) {
        active += 1;
        return Promise.resolve(makeRelease());
      }
      if (queue.length >= opts.maxQueue) {
        rejected += 1;
        return Promise.reject(new OverloadedError(opts.retryAfterSec ?? 1));
      }
      return new Promise<Release>((resolve, reject) => {
        const onAbort = () => {
          const i = queue.indexOf(waiter);
          if (i >= 0) queue.splice(i, 1);
          reject(signal?.reason);
        };
        const waiter: Waiter = {
          grant(release) {
            signal?.removeEventListener('abort', onAbort);
            resolve(release);
          },
        };
        queue.push(waiter);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    get active() {
      return active;
    },
    get queued() {
      return queue.length;
    },
    get rejected() {
      return rejected;
    },
  };
}
