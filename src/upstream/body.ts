import { errors as undiciErrors } from 'undici';
import { AppError, UpstreamHttpError, UpstreamNetworkError, UpstreamTimeoutError } from '../errors.ts';
import type { UpstreamResponse } from './copilot-client.ts';

/**
 * Map a failure while reading an upstream body (after the headers) to our error
 * classes, so retry and breaker can read `isRetryable`. The caller's own abort
 * (client gone, proxy_context) passes through as the signal's reason.
 */
export function toBodyError(err: unknown, what: string, signal?: AbortSignal, idleSec?: number): unknown {
  if (signal?.aborted) return signal.reason ?? err;
  if (err instanceof AppError) return err;
  if (err instanceof undiciErrors.BodyTimeoutError) {
    const limit = idleSec === undefined ? '' : ` for more than ${idleSec} s (timeouts.stream_idle)`;
    return new UpstreamTimeoutError(`Copilot went silent${limit} during ${what}`);
  }
  const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
  const msg = err instanceof Error ? err.message : String(err);
  return new UpstreamNetworkError(`Copilot connection broke during ${what}: ${msg}${code && !msg.includes(code) ? ` (${code})` : ''}`, err);
}

/**
 * Read a whole JSON body. Done inside the gateway call, so a body cut short or
 * gone silent is retried like a failure before the headers (nothing went to the
 * client yet).
 */
export async function readJsonBody(res: UpstreamResponse, what: string, signal?: AbortSignal, idleSec?: number): Promise<unknown> {
  let text: string;
  try {
    text = await res.body.text();
  } catch (err) {
    throw toBodyError(err, what, signal, idleSec);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UpstreamHttpError(502, `Copilot ${what} returned invalid JSON`);
  }
}
