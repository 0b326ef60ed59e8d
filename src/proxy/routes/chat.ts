import { Router, type Response } from 'express';
import { UpstreamNetworkError } from '../../errors.ts';
import { readJsonBody, toBodyError } from '../../upstream/body.ts';
import { createChatCompletion, type UpstreamResponse } from '../../upstream/copilot-client.ts';
import type { ProxyContext } from '../context.ts';
import { toErrorPayload, errorBody, type ErrorPayload } from '../middleware/errors.ts';
import { logFields } from '../middleware/request-log.ts';
import { requireJsonBody } from '../middleware/json.ts';
import { ChatChunkNormalizer, normalizeChatCompletion, prepareChat, type PreparedChat, type Usage } from '../transform/chat.ts';
import { SseParser, formatSse } from '../transform/sse.ts';
import { requestSignal, startSse, textChunks, write } from '../stream-util.ts';

type ChatUpstream = (UpstreamResponse & { kind: 'stream' }) | { kind: 'json'; json: unknown };

export function chatRoutes(ctx: ProxyContext): Router {
  const router = Router();
  router.post(['/v1/chat/completions', '/chat/completions'], requireJsonBody, async (req, res) => {
    const fields = logFields(res);
    const prep = prepareChat(req.body, ctx.config.model_map);
    fields.model = prep.model;
    fields.streamed = prep.stream;
    const idleSec = ctx.config.timeouts.stream_idle;
    const { signal, clientGone } = requestSignal(req, res, ctx.config.timeouts.proxy_context * 1000);
    // A whole JSON body is read inside the gateway call: a body cut short is retried
    // like any failure before the headers, since nothing went to the client yet.
    // A stream resolves at its headers and holds its concurrency slot until its body closes.
    const upstream = await ctx.gateway.call('chat', signal, async (auth, sig): Promise<ChatUpstream> => {
      const up = await createChatCompletion(ctx.dispatcher, prep.upstreamBody, {
        auth,
        requestId: fields.requestId,
        initiator: prep.initiator,
        vision: prep.vision,
        stream: prep.stream,
        signal: sig,
      });
      const contentType = String(up.headers['content-type'] ?? '');
      if (prep.stream && contentType.includes('text/event-stream')) return { ...up, kind: 'stream' };
      return { kind: 'json', json: await readJsonBody(up, '/chat/completions', sig, idleSec) };
    });
    if (upstream.kind === 'json') {
      const out = normalizeChatCompletion(upstream.json, prep.model, ctx.now);
      recordUsage(fields, out.usage);
      fields.ttfbMs = ctx.now() - fields.startedAt;
      res.json(out);
      return;
    }
    ctx.stats.inFlightStreams += 1;
    try {
      await relayChatStream(ctx, upstream, res, prep, signal, clientGone);
    } finally {
      ctx.stats.inFlightStreams -= 1;
    }
  });
  return router;
}

function recordUsage(fields: ReturnType<typeof logFields>, usage: unknown): void {
  if (typeof usage !== 'object' || usage === null) return;
  const u = usage as Usage;
  if (typeof u.prompt_tokens === 'number') fields.promptTokens = u.prompt_tokens;
  if (typeof u.completion_tokens === 'number') fields.completionTokens = u.completion_tokens;
}

/** Relay Copilot's SSE to the client event by event, normalising quirk chunks. */
async function relayChatStream(
  ctx: ProxyContext,
  upstream: UpstreamResponse,
  res: Response,
  prep: PreparedChat,
  signal: AbortSignal,
  clientGone: () => boolean,
): Promise<void> {
  const fields = logFields(res);
  const parser = new SseParser();
  const norm = new ChatChunkNormalizer({ clientWantsUsage: prep.clientWantsUsage, requestModel: prep.model, now: ctx.now });
  let sawDone = false;
  let sawFinish = false;
  let malformed = 0;
  startSse(res);
  const emit = async (chunk: Record<string, unknown>) => {
    if (fields.ttfbMs === undefined) fields.ttfbMs = ctx.now() - fields.startedAt;
    const choices = chunk.choices;
    if (Array.isArray(choices) && choices.some((c: unknown) => typeof c === 'object' && c !== null && 'finish_reason' in c && c.finish_reason)) sawFinish = true;
    await write(res, formatSse(chunk));
  };
  try {
    for await (const text of textChunks(upstream.body)) {
      for (const ev of parser.push(text)) {
        if (sawDone) continue;
        if (ev.data === '[DONE]') {
          sawDone = true;
          continue;
        }
        let json: unknown;
        try {
          json = JSON.parse(ev.data);
        } catch {
          malformed += 1;
          continue; // a malformed line is dropped, the stream goes on
        }
        for (const out of norm.push(json)) await emit(out);
      }
    }
    for (const ev of parser.end()) {
      if (ev.data === '[DONE]') sawDone = true;
    }
    if (malformed > 0) ctx.log.warn(`chat stream ${fields.requestId}: dropped ${malformed} malformed SSE event(s) from Copilot`);
    recordUsage(fields, norm.usage);
    if (!sawDone && !sawFinish) throw new UpstreamNetworkError('Copilot ended the stream before it finished');
    for (const out of norm.finish()) await emit(out);
    await write(res, 'data: [DONE]\n\n');
    res.end();
  } catch (err) {
    recordUsage(fields, norm.usage);
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
      : toErrorPayload(toBodyError(err, 'the stream', undefined, ctx.config.timeouts.stream_idle));
    ctx.log.warn(`chat stream ${fields.requestId} ended with an error: ${payload.message}`);
    res.locals.errorCode = payload.code;
    await write(res, formatSse(errorBody('openai', payload)));
    res.end();
  }
}
