import v8 from 'node:v8';

/**
 * The proxy's V8 heap, sized for a tray app rather than a server (#22; the
 * measurements are in the README, Performance). Under 32 connections 14-20 MB
 * stay live, yet V8 judged its collections cheap and let the old generation
 * grow to four times that before the next mark-compact, beside a young
 * generation of two 16 MB semi-spaces.
 *
 * The old generation: each mark-compact sets the next limit at 1.5 x what
 * survived. V8 reads this flag at every collection, so it is set at run time,
 * by `run` and the tray's child alike. It also replaces the smaller factors
 * V8 uses while shrinking an idle heap (1.1-1.3); the idle figures after a
 * load were measured with it.
 */
export function tuneProxyHeap(): void {
  v8.setFlagsFromString('--heap-growing-percent=50');
}

/**
 * Node options for a process that serves the proxy: two 8 MB semi-spaces
 * instead of 16. A semi-space's size is fixed when the process starts, so the
 * tray gives these to its proxy child (forkPlan); `run` from a terminal has
 * them only if the user puts them in NODE_OPTIONS.
 */
export const PROXY_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=8'];
