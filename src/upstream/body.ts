import { UpstreamMalformedError, UpstreamTimeoutError } from '../errors.ts';
import type { UpstreamResponse } from './copilot-client.ts';
import { toTransportError } from './transport-errors.ts';

/** A failure while reading an upstream body (after the headers), typed so retry and breaker can read `isRetryable`. */
export function toBodyError(err: unknown, what: string, signal?: AbortSignal, idleSec?: number): unknown {
  return toTransportError(err, { what, signal, phase: 'body', idleSec });
}

/**
 * Read a whole JSON body. Done inside the gateway call (see call.ts), so a body
 * cut short or gone silent is retried like a failure before the headers
 * (nothing went to the client yet).
 */
export async function readJsonBody(res: UpstreamResponse, what: string, signal?: AbortSignal, idleSec?: number, quietMs?: number): Promise<unknown> {
  let text: string;
  try {
    text = quietMs === undefined ? await res.body.text() : await readQuietBounded(res.body, quietMs, what);
  } catch (err) {
    throw toBodyError(err, what, signal, idleSec);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UpstreamMalformedError(`Copilot ${what} answered 200 with a body that is not JSON (${JSON.stringify(text.slice(0, 60))}${text.length > 60 ? '…' : ''})`);
  }
}

/**
 * A whole body, with at most `quietMs` of silence between two chunks: a
 * non-stream answer whose headers came and whose body went quiet ends in a
 * timeout, as a stream does (timeouts.first_byte, not the stream's
 * stream_idle: a non-stream answer is complete when its headers are sent).
 */
async function readQuietBounded(body: UpstreamResponse['body'], quietMs: number, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => body.destroy(new UpstreamTimeoutError(`Copilot went silent for more than ${quietMs / 1000} s (timeouts.first_byte) in the body of ${what}`)), quietMs);
  };
  arm();
  try {
    for await (const chunk of body) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
      arm();
    }
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
