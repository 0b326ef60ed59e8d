import { createRequire } from 'node:module';

/**
 * undici, loaded on first use. It is the largest import the app has (about
 * 190 ms on the 2-core CI machine): commands that never go upstream (`status`
 * with no proxy running, `config`, `version`) must not pay for it. Types come
 * from `import type`, which costs nothing at run time.
 *
 * The app uses one class of it, EnvHttpProxyAgent, and the request method
 * every dispatcher has; the build bundles only that slice
 * (build/undici-slice.cjs), not fetch, WebSocket, the cache or the mocks that
 * undici's index loads (#22: 734 -> 400 KiB of code kept in the heap).
 */
export type Undici = Pick<typeof import('undici'), 'EnvHttpProxyAgent'>;

export function undici(): Undici {
  // A trusted module, not data: require's own cache makes every call after the first free.
  return createRequire(import.meta.url)('undici') as Undici;
}
