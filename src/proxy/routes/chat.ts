import { Router, type Response } from 'express';
import { createChatCompletion, readJson, toNetworkError, type UpstreamResponse } from '../../upstream/copilot-client.ts';
import type { ProxyContext } from '../context.ts';
import { toErrorPayload, errorBody } from '../middleware/errors.ts';
import { logFields } from '../middleware/request-log.ts';
import { requireJsonBody } from '../middleware/json.ts';
import { ChatChunkNormalizer, normalizeChatCompletion, prepareChat, type PreparedChat, type Usage } from '../transform/chat.ts';
import { SseParser, formatSse } from '../transform/sse.ts';
import { requestSignal, startSse, textChunks, write } from '../stream-util.ts';

export function chatRoutes(ctx: ProxyContext): Router {
  const router = Router();
  router.post(['/v1/chat/completions', '/chat/completions'], requireJsonBody, async (req, res) => {
    const fields = logFields(res);
    const prep = prepareChat(req.body, ctx.config.model_map);
    fields.model = prep.model;
    fields.streamed = prep.stream;
    const { signal, clientGone } = requestSignal(req, res, ctx.config.timeouts.proxy_context * 1000);
    const upstream = await ctx.gateway.call('chat', signal, (auth, sig) =>
      createChatCompletion(ctx.dispatcher, prep.upstreamBody, {
        auth,
        requestId: fields.requestId,
        initiator: prep.initiator,
        vision: prep.vision,
        stream: prep.stream,
        signal: sig,
      }),
    );
    const contentType = String(upstream.headers['content-type'] ?? '');
    if (!prep.stream || !contentType.includes('text/event-stream')) {
      const json = await readJson(upstream, '/chat/completions');
      const out = normalizeChatCompletion(json, prep.model, ctx.now);
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
    if (!sawDone && !sawFinish) throw new Error('Copilot ended the stream before it finished');
    for (const out of norm.finish()) await emit(out);
    await write(res, 'data: [DONE]\n\n');
    res.end();
  } catch (err) {
    recordUsage(fields, norm.usage);
    upstream.body.destroy();
    if (clientGone()) return;
    // Headers are gone already: tell the client in-band, then close cleanly.
    const reason = signal.aborted && !clientGone() ? new Error(`stream exceeded timeouts.proxy_context (${ctx.config.timeouts.proxy_context} s)`) : err;
    const mapped = toNetworkError(reason, '/chat/completions (mid-stream)');
    const payload = toErrorPayload(mapped);
    const message = reason instanceof Error && payload.status === 502 ? `Copilot stream broke: ${reason.message}` : payload.message;
    ctx.log.warn(`chat stream ${fields.requestId} ended with an error: ${message}`);
    await write(res, formatSse(errorBody('openai', { ...payload, message })));
    res.end();
  }
}
