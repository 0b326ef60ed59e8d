import { UpstreamMalformedError } from '../errors.ts';
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
    throw new UpstreamMalformedError(`Copilot ${what} answered 200 with a body that is not JSON (${JSON.stringify(text.slice(0, 60))}${text.length > 60 ? '…' : ''})`);
  }
}
