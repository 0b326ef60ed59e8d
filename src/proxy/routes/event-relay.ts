import type { Response } from '../http.ts';
import { UpstreamNetworkError } from '../../errors.ts';
import { toBodyError } from '../../upstream/body.ts';
import type { UpstreamResponse } from '../../upstream/copilot-client.ts';
import type { ProxyContext } from '../context.ts';
import { toErrorPayload, type ErrorPayload } from '../middleware/errors.ts';
import { logFields, noteUsage } from '../middleware/request-log.ts';
import { mayCarryUsage } from '../../usage/meter.ts';
import { SseParser, type SseEvent } from '../transform/sse.ts';
import { endWith, startSse, textChunks, write } from '../stream-util.ts';

/** What a route plugs into relaySse: how each upstream event becomes client SSE text. */
export interface SseTranslator {
  /** One upstream SSE event and its data, parsed once by the relay, in; SSE text for the client out (may be none). */
  event(ev: SseEvent, data: EventData): string[];
  /** Upstream ended: trailing SSE text. Throws when the stream stopped before it finished. */
  end(): string[];
  /** An in-band error in the client's dialect (the headers are gone already). */
  error(p: ErrorPayload): string;
}

/**
 * Relay an upstream SSE body to the client event by event as it arrives, with
 * back-pressure (a slow client slows the upstream read). A broken or timed-out
 * stream ends with an in-band error event, then a clean close; a client that
 * went away aborts the upstream read at once (via `signal`).
 */
export async function relaySse(
  ctx: ProxyContext,
  upstream: UpstreamResponse,
  res: Response,
  what: string,
  signal: AbortSignal,
  clientGone: () => boolean,
  t: SseTranslator,
): Promise<void> {
  const fields = logFields(res);
  const parser = new SseParser();
  // Everything one upstream read produced goes out in one write: one chunk on the wire, one syscall.
  // The first byte of the body, whatever carries it (an event, the trailer or an in-band error).
  const noteFirstByte = () => {
    if (fields.ttfbMs === undefined) fields.ttfbMs = ctx.now() - fields.startedAt;
  };
  const emit = async (texts: string[]) => {
    if (texts.length === 0) return;
    noteFirstByte();
    await write(res, texts.length === 1 ? texts[0]! : texts.join(''));
  };
  // What the stream cost is read from Copilot's own events, before any translation, on every route alike.
  const meter = (ev: SseEvent, d: EventData) => {
    if (d.kind === 'json' && mayCarryUsage(ev.data)) noteUsage(fields, d.value);
  };
  ctx.stats.inFlightStreams += 1;
  startSse(res);
  try {
    const translate = (events: SseEvent[], out: string[]) => {
      for (const ev of events) {
        const d = eventData(ev);
        meter(ev, d);
        for (const text of t.event(ev, d)) out.push(text);
      }
    };
    // The events of one upstream read, translated and sent together; what came
    // before an event that throws (a stream that failed) still goes out first.
    const relay = async (events: SseEvent[]) => {
      const out: string[] = [];
      try {
        translate(events, out);
      } finally {
        await emit(out);
      }
    };
    for await (const text of textChunks(upstream.body)) await relay(parser.push(text));
    // The last events, the trailer and the end of the response go out in one write.
    const last: string[] = [];
    try {
      translate(parser.end(), last);
      for (const text of t.end()) last.push(text);
    } catch (err) {
      await emit(last);
      throw err;
    }
    if (last.length > 0) noteFirstByte();
    endWith(res, last.join(''));
  } catch (err) {
    // Frees the upstream connection (and the concurrency slot) at once.
    upstream.body.destroy();
    if (clientGone()) return;
    // Headers are gone already: tell the client in-band, then close cleanly (never a hang).
    const payload: ErrorPayload = signal.aborted
      ? {
          status: 504,
          message: `The stream exceeded timeouts.proxy_context (${ctx.config.timeouts.proxy_context} s) and was ended`,
          code: 'stream_timeout',
          param: null,
        }
      : toErrorPayload(toBodyError(err, `the ${what} stream`, undefined, ctx.config.timeouts.stream_idle));
    ctx.log.warn(`${what} stream ${fields.requestId} ended with an error: ${payload.message}`);
    res.locals.errorCode = payload.code ?? undefined;
    noteFirstByte();
    endWith(res, t.error(payload));
  } finally {
    ctx.stats.inFlightStreams -= 1;
  }
}

/** The one error for an upstream stream that stopped before its end marker, on every route. */
export function streamEndedEarly(marker: string): UpstreamNetworkError {
  return new UpstreamNetworkError(`Copilot ended the stream before ${marker}`);
}

export type EventData = { kind: 'json'; value: unknown } | { kind: 'done' } | { kind: 'malformed' };

/** An SSE event's data: JSON, the `[DONE]` sentinel, or something to drop (a malformed line does not end the stream). */
export function eventData(ev: SseEvent): EventData {
  if (ev.data === '[DONE]') return { kind: 'done' };
  try {
    return { kind: 'json', value: JSON.parse(ev.data) as unknown };
  } catch {
    return { kind: 'malformed' };
  }
}
