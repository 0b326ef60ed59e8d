import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import type { ResolvedConfig } from '../../src/config/schema.ts';
import type { StoredTokens, TokenStore } from '../../src/auth/token-store.ts';
import type { TimerApi } from '../../src/auth/token-manager.ts';

/** A temp data dir (GITHUB_COPILOT_SVCS_HOME) removed by `cleanup`. */
export function tempHome(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-auth-'));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Config for a temp home, with GitHub and Copilot URLs pointed at `upstreamUrl`. */
export function testConfig(home: string, upstreamUrl = 'http://127.0.0.1:9', extra: Record<string, string> = {}): ResolvedConfig {
  return loadConfig({
    env: {
      GITHUB_COPILOT_SVCS_HOME: home,
      GITHUB_COPILOT_SVCS_GITHUB_URL: upstreamUrl,
      GITHUB_COPILOT_SVCS_GITHUB_API_URL: upstreamUrl,
      GITHUB_COPILOT_SVCS_KEYCHAIN: 'off',
      ...extra,
    },
  });
}

/** An in-memory TokenStore that records what was saved. */
export function memoryStore(initial: StoredTokens | null = null): TokenStore & { saved: StoredTokens[]; current: StoredTokens | null } {
  const s = {
    kind: 'file' as const,
    saved: [] as StoredTokens[],
    current: initial,
    async load() {
      return s.current ? { ...s.current } : null;
    },
    async save(t: StoredTokens) {
      s.saved.push({ ...t });
      s.current = { ...t };
    },
    async clear() {
      s.current = null;
    },
  };
  return s;
}

/** Injected clock, sleep and timers: time only moves when the test says so. */
export function fakeTime(startMs = Date.UTC(2025, 0, 1)) {
  let t = startMs;
  let nextId = 1;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const sleeps: number[] = [];
  const timers: TimerApi = {
    set(fn, ms) {
      const id = nextId++;
      pending.set(id, { at: t + ms, fn });
      return id;
    },
    clear(handle) {
      if (typeof handle === 'number') pending.delete(handle);
    },
  };
  const flush = () => new Promise<void>((r) => setImmediate(r));
  return {
    now: () => t,
    timers,
    sleeps,
    /** Records the delay and moves the clock; resolves at once. */
    sleep: async (ms: number, signal?: AbortSignal) => {
      signal?.throwIfAborted();
      sleeps.push(ms);
      t += ms;
    },
    /** Next timer due time, or null. */
    nextTimerAt(): number | null {
      let min: number | null = null;
      for (const p of pending.values()) if (min === null || p.at < min) min = p.at;
      return min;
    },
    pendingTimers: () => pending.size,
    /** Move the clock by `ms`, firing due timers in order, letting promises settle between. */
    async advance(ms: number) {
      const target = t + ms;
      for (;;) {
        let due: [number, { at: number; fn: () => void }] | undefined;
        for (const e of pending) if (e[1].at <= target && (!due || e[1].at < due[1].at)) due = e;
        if (!due) break;
        pending.delete(due[0]);
        t = Math.max(t, due[1].at);
        due[1].fn();
        for (let i = 0; i < 20; i++) await flush();
      }
      t = target;
      for (let i = 0; i < 5; i++) await flush();
    },
    flush,
  };
}
