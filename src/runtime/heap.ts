import v8 from 'node:v8';

/**
 * The proxy's V8 heap, sized for a tray app rather than a server (#22).
 *
 * Under 32 connections the live heap stays at 14-20 MB, yet RSS peaked at
 * 165-180 MB: V8 measured its collections as cheap (mutator utilisation
 * 0.997) and so let the old generation grow to four times the live size
 * before the next mark-compact (`--trace-gc`: 76 MB used, 105 MB committed,
 * 20 MB live after it), and the young generation grew to two 16 MB
 * semi-spaces.
 *
 * - Old generation: each mark-compact sets the next limit at 1.5 x what
 *   survived. Measured alone, 4 alternating rounds of 8 s at 32 connections:
 *   peak 167/179 -> 122/130 MB (non-stream/stream), CPU per request
 *   0.349/0.729 -> 0.331/0.696 ms (no cost beyond the noise). V8 reads this
 *   flag at each collection, so it is set at run time, by `run` and the tray's
 *   child alike.
 * - Young generation: a semi-space's size is fixed when the process starts, so
 *   it is a node option, given to the process the tray starts (execArgv, or
 *   NODE_OPTIONS for the single-file binary). `run` from a terminal takes it
 *   from NODE_OPTIONS when the user sets it. See PROXY_NODE_OPTIONS.
 */
export function tuneProxyHeap(setFlags: (flags: string) => void = v8.setFlagsFromString): void {
  setFlags('--heap-growing-percent=50');
}

/**
 * Node options for a process that serves the proxy: a young generation of two
 * 8 MB semi-spaces instead of 16. Measured with tuneProxyHeap, same run:
 * peak 122/130 -> 108/113 MB, CPU per request 0.331/0.696 -> 0.350/0.760 ms.
 * 4 MB semi-spaces reach 99/102 MB but cost 12-50 % more CPU per streamed
 * request (0.85-1.05 ms), so they are not used.
 */
export const PROXY_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=8'];
