import { Router } from 'express';
import { callCopilot } from '../../upstream/call.ts';
import type { ProxyContext } from '../context.ts';
import { errorBody } from '../middleware/errors.ts';
import { logFields, recordTokens } from '../middleware/request-log.ts';
import { requireJsonBody } from '../middleware/json.ts';
import { ChatChunkNormalizer, normalizeChatCompletion, prepareChat, type PreparedChat } from '../transform/chat.ts';
import { formatSse } from '../transform/sse.ts';
import { requestSignal } from '../stream-util.ts';
import { eventData, relaySse, streamEndedEarly, type SseTranslator } from './event-relay.ts';

export function chatRoutes(ctx: ProxyContext): Router {
  const router = Router();
  router.post(['/v1/chat/completions', '/chat/completions'], requireJsonBody, async (req, res) => {
    const fields = logFields(res);
    const prep = prepareChat(req.body, ctx.config.model_map);
    fields.model = prep.model;
    fields.streamed = prep.stream;
    const idleSec = ctx.config.timeouts.stream_idle;
    const { signal, clientGone } = requestSignal(req, res, ctx.config.timeouts.proxy_context * 1000);
    const upstream = await callCopilot(ctx.gateway, { what: 'chat', path: '/chat/completions', signal, stream: prep.stream, idleSec }, (auth, sig) =>
      ctx.copilot.createChatCompletion(prep.upstreamBody, {
        auth,
        requestId: fields.requestId,
        initiator: prep.initiator,
        vision: prep.vision,
        stream: prep.stream,
        signal: sig,
      }),
    );
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
  recordTokens(fields, { prompt: Reflect.get(usage, 'prompt_tokens'), completion: Reflect.get(usage, 'completion_tokens') });
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
      if (!sawDone && !sawFinish) throw streamEndedEarly('it finished');
      return [...out(norm.finish()), 'data: [DONE]\n\n'];
    },
    error: (p) => formatSse(errorBody('openai', p)),
    usage: () => ({ prompt: norm.usage?.prompt_tokens, completion: norm.usage?.completion_tokens }),
  };
}
