import { readJsonBody } from './body.ts';
import type { CopilotCallOptions, UpstreamResponse } from './copilot-client.ts';
import type { CopilotGateway } from './gateway.ts';

/** What a Copilot call gives a route: a parsed JSON body, or an event stream (still unread). */
export type CopilotResult = { kind: 'json'; json: unknown; headers: UpstreamResponse['headers'] } | (UpstreamResponse & { kind: 'stream' });

/**
 * The one upstream read path for every route: calls a Copilot endpoint through
 * the gateway (breaker, limiter, retries, 401 refresh) and, for a JSON answer,
 * reads the whole body inside that same call, so a body cut short or gone
 * silent is a typed error that is retried like a failure before the headers
 * (nothing went to the client yet). A stream resolves at its headers and holds
 * its concurrency slot until its body closes.
 */
export async function callCopilot(
  gateway: CopilotGateway,
  opts: {
    what: string;
    /** The Copilot path, for error messages (`/chat/completions`). */
    path: string;
    signal: AbortSignal | undefined;
    stream: boolean;
    /** timeouts.stream_idle, for the message of a body gone silent. */
    idleSec?: number;
    /** What every Copilot call carries besides auth and signal (request id, initiator, vision, extra headers). */
    call: Omit<CopilotCallOptions, 'auth' | 'signal' | 'stream'>;
  },
  send: (options: CopilotCallOptions) => Promise<UpstreamResponse>,
): Promise<CopilotResult> {
  return gateway.call(opts.what, opts.signal, async (auth, sig): Promise<CopilotResult> => {
    const up = await send({ ...opts.call, auth, signal: sig, stream: opts.stream });
    const contentType = String(up.headers['content-type'] ?? '');
    if (opts.stream && contentType.includes('text/event-stream')) return { ...up, kind: 'stream' };
    return { kind: 'json', json: await readJsonBody(up, opts.path, sig, opts.idleSec), headers: up.headers };
  });
}
