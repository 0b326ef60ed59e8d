import { AppError, UpstreamNetworkError, UpstreamTimeoutError } from '../errors.ts';

/**
 * The one mapper from a transport failure (undici, sockets) to our typed
 * errors, for every upstream (Copilot and GitHub), before the headers and
 * while reading a body. The caller's own abort (client gone, proxy_context)
 * passes through as the signal's reason; our own errors pass through as they are.
 */
export function toTransportError(
  err: unknown,
  opts: { what: string; signal?: AbortSignal | undefined; phase: 'request' | 'body'; idleSec?: number | undefined; peer?: string },
): unknown {
  if (opts.signal?.aborted) return opts.signal.reason ?? err;
  if (err instanceof AppError) return err;
  const peer = opts.peer ?? 'Copilot';
  // undici's error classes, told apart by their stable `code` (no undici import needed here).
  const undiciCode = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  if (undiciCode === 'UND_ERR_BODY_TIMEOUT') {
    const limit = opts.idleSec === undefined ? '' : ` for more than ${opts.idleSec} s (timeouts.stream_idle)`;
    return new UpstreamTimeoutError(`${peer} went silent${limit} during ${opts.what}`);
  }
  if (undiciCode === 'UND_ERR_HEADERS_TIMEOUT') return new UpstreamTimeoutError(`${peer} did not answer ${opts.what} in time`);
  if (undiciCode === 'UND_ERR_CONNECT_TIMEOUT') return new UpstreamTimeoutError(`Timed out connecting to ${peer} for ${opts.what}`);
  const code = undiciCode;
  const msg = err instanceof Error ? err.message : String(err);
  const detail = `${msg}${code && !msg.includes(code) ? ` (${code})` : ''}`;
  return opts.phase === 'body'
    ? new UpstreamNetworkError(`${peer} connection broke during ${opts.what}: ${detail}`, err)
    : new UpstreamNetworkError(`Cannot reach ${peer} for ${opts.what}: ${detail}`, err);
}

/** `Retry-After` as seconds, from either form HTTP allows: delta-seconds or an HTTP date. */
export function parseRetryAfter(v: string | string[] | undefined, now: () => number = Date.now): number | undefined {
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  if (!s) return undefined;
  if (/^\d+$/.test(s)) return Number(s);
  const date = Date.parse(s);
  if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - now()) / 1000));
  return undefined;
}
