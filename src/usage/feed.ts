import type { UsageRecord } from './record.ts';

/**
 * The last requests, live: a ring of the most recent `limit` usage records and
 * the listeners that want each new one (the `/usage/events` stream, for the
 * dashboard). Bounded: the ring never holds more than `limit`, and at most
 * `maxListeners` may listen at once.
 */
export interface UsageFeed {
  push(r: UsageRecord): void;
  /** Oldest first. */
  recent(): UsageRecord[];
  /** Null when `maxListeners` already listen. */
  subscribe(fn: (r: UsageRecord) => void): (() => void) | null;
  readonly listeners: number;
}

export function createUsageFeed(opts: { limit?: number; maxListeners?: number } = {}): UsageFeed {
  const limit = opts.limit ?? 200;
  const ring: UsageRecord[] = [];
  const listeners = new Set<(r: UsageRecord) => void>();
  return {
    push(r) {
      ring.push(r);
      if (ring.length > limit) ring.shift();
      for (const fn of listeners) {
        try {
          fn(r);
        } catch {
          listeners.delete(fn); // a listener that throws is gone
        }
      }
    },
    recent: () => [...ring],
    subscribe(fn) {
      if (listeners.size >= (opts.maxListeners ?? 16)) return null;
      listeners.add(fn);
      return () => {
        listeners.delete(fn);
      };
    },
    get listeners() {
      return listeners.size;
    },
  };
}
