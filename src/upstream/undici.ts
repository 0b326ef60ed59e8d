import { createRequire } from 'node:module';

/**
 * undici, loaded on first use. It is the largest import the app has (about
 * 190 ms on the 2-core CI machine): commands that never go upstream (`status`
 * with no proxy running, `config`, `version`) must not pay for it. Types come
 * from `import type`, which costs nothing at run time.
 *
 * Only the slice the app uses (./undici-slice.cjs: EnvHttpProxyAgent, Pool, and the
 * request method of every dispatcher) is loaded, from the sources as from the
 * bundles, so what the type names is what every build has (README,
 * Performance).
 */
export type Undici = Pick<typeof import('undici'), 'EnvHttpProxyAgent' | 'Pool'>;

export function undici(): Undici {
  // A trusted module, not data: require's own cache makes every call after the first free.
  return createRequire(import.meta.url)('./undici-slice.cjs') as Undici;
}
