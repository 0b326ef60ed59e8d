/**
 * A value fetched on demand, cached for `ttlMs`, with concurrent callers
 * sharing one in-flight fetch. A failed fetch is not cached.
 */
export interface CachedFetcher<T> {
  get(): Promise<T>;
  invalidate(): void;
  /** When a value is cached, replace it with what `fn` makes of it (news that came another way); else do nothing. */
  update(fn: (current: T) => T): void;
}

export function createCachedFetcher<T>(fetch: () => Promise<T>, ttlMs: number, now: () => number = Date.now): CachedFetcher<T> {
  let value: { v: T; at: number } | undefined;
  let inflight: Promise<T> | undefined;
  let generation = 0;
  return {
    get() {
      if (value && now() - value.at < ttlMs) return Promise.resolve(value.v);
      if (inflight) return inflight;
      const gen = generation;
      const p = fetch().then(
        (v) => {
          if (gen === generation) value = { v, at: now() };
          return v;
        },
      );
      inflight = p;
      const clear = () => {
        if (inflight === p) inflight = undefined;
      };
      p.then(clear, clear);
      return p;
    },
    invalidate() {
      generation += 1;
      value = undefined;
      inflight = undefined;
    },
    update(fn) {
      if (!value) return;
      // Newer than anything in flight: a fetch that started before must not overwrite it.
      generation += 1;
      inflight = undefined;
      value = { v: fn(value.v), at: now() };
    },
  };
}
