import { Router } from 'express';
import { UpstreamNetworkError } from '../../errors.ts';
import { readJsonBody } from '../../upstream/body.ts';
import { type UpstreamResponse } from '../../upstream/copilot-client.ts';
import type { ProxyContext } from '../context.ts';
import { errorBody } from '../middleware/errors.ts';
import { logFields } from '../middleware/request-log.ts';
import { requireJsonBody } from '../middleware/json.ts';
import { ChatChunkNormalizer, normalizeChatCompletion, prepareChat, type PreparedChat, type Usage } from '../transform/chat.ts';
import { formatSse } from '../transform/sse.ts';
import { requestSignal } from '../stream-util.ts';
import { eventData, relaySse, type SseTranslator } from './event-relay.ts';

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
      const up = await ctx.copilot.createChatCompletion(prep.upstreamBody, {
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
    await relaySse(ctx, upstream, res, 'chat', signal, clientGone, chatTranslator(ctx, fields.requestId, prep));
  });
  return router;
}

function recordUsage(fields: ReturnType<typeof logFields>, usage: unknown): void {
  if (typeof usage !== 'object' || usage === null) return;
  const u = usage as Usage;
  if (typeof u.prompt_tokens === 'number') fields.promptTokens = u.prompt_tokens;
  if (typeof u.completion_tokens === 'number') fields.completionTokens = u.completion_tokens;
}

/** Copilot's chat SSE -> OpenAI's, through the shared relay: quirk chunks normalised, usage kept, `[DONE]` last. */
function chatTranslator(ctx: ProxyContext, requestId: string, prep: PreparedChat): SseTranslator {
  const norm = new ChatChunkNormalizer({ clientWantsUsage: prep.clientWantsUsage, requestModel: prep.model, now: ctx.now });
  let sawDone = false;
  let sawFinish = false;
  let malformed = 0;
  const out = (chunks: Record<string, unknown>[]) =>
    chunks.map((chunk) => {
      const choices = chunk.choices;
      if (Array.isArray(choices) && choices.some((c: unknown) => typeof c === 'object' && c !== null && 'finish_reason' in c && c.finish_reason)) sawFinish = true;
      return formatSse(chunk);
    });
  return {
    event(ev) {
      if (sawDone) return [];
      const d = eventData(ev);
      if (d.kind === 'done') sawDone = true;
      if (d.kind === 'malformed') malformed += 1; // dropped; the stream goes on
      return d.kind === 'json' ? out(norm.push(d.value)) : [];
    },
    end() {
      if (malformed > 0) ctx.log.warn(`chat stream ${requestId}: dropped ${malformed} malformed SSE event(s) from Copilot`);
      if (!sawDone && !sawFinish) throw new UpstreamNetworkError('Copilot ended the stream before it finished');
      return [...out(norm.finish()), 'data: [DONE]\n\n'];
    },
    error: (p) => formatSse(errorBody('openai', p)),
    usage: () => ({ prompt: norm.usage?.prompt_tokens, completion: norm.usage?.completion_tokens }),
  };
}
