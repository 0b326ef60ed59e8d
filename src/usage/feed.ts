import type { UsageRecord } from './record.ts';

/**
 * The last requests, live: a ring of the most recent `limit` usage records and
 * the listeners that want each new one (the `/usage/events` stream, for the
 * dashboard). Bounded: the ring never holds more than `limit`, and at most
 * `maxListeners` may listen at once.
 */
/** How many of the last requests the feed keeps and sends first (the dashboard's live table shows as many). */
export const FEED_LIMIT = 200;

export interface UsageFeed {
  push(r: UsageRecord): void;
  /** Oldest first. */
  recent(): UsageRecord[];
  /** Null when `maxListeners` already listen (or the feed is closed). `onClose` runs when the feed closes. */
  subscribe(fn: (r: UsageRecord) => void, onClose?: () => void): (() => void) | null;
  /** The proxy is stopping: every listener's `onClose` runs (their streams end, so shutdown need not wait for them). */
  close(): void;
  readonly listeners: number;
}

export function createUsageFeed(opts: { limit?: number; maxListeners?: number } = {}): UsageFeed {
  const limit = opts.limit ?? FEED_LIMIT;
  const ring: UsageRecord[] = [];
  const listeners = new Set<(r: UsageRecord) => void>();
  const closers = new Map<(r: UsageRecord) => void, () => void>();
  let closed = false;
  return {
    push(r) {
      ring.push(r);
      if (ring.length > limit) ring.shift();
      for (const fn of listeners) {
        try {
          fn(r);
        } catch {
          listeners.delete(fn); // a listener that throws is gone
          closers.delete(fn);
        }
      }
    },
    recent: () => [...ring],
    subscribe(fn, onClose) {
      if (closed || listeners.size >= (opts.maxListeners ?? 16)) return null;
      listeners.add(fn);
      if (onClose) closers.set(fn, onClose);
      return () => {
        listeners.delete(fn);
        closers.delete(fn);
      };
    },
    close() {
      closed = true;
      const ends = [...closers.values()];
      listeners.clear();
      closers.clear();
      for (const end of ends) end();
    },
    get listeners() {
      return listeners.size;
    },
  };
}
