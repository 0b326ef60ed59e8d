import type { Request, RequestHandler, Response } from '../http.ts';
import { callCopilot } from '../../upstream/call.ts';
import type { ProxyContext } from '../context.ts';
import { errorBody } from '../middleware/errors.ts';
import { callMeta, logFields, noteRoutedModel, noteUsage } from '../middleware/request-log.ts';
import { logLowered, withOutputLimit, withSupportedReasoningEffort, type RoutedModel } from '../models/router.ts';
import { ChatChunkNormalizer, normalizeChatCompletion, prepareChat, type PreparedChat } from '../transform/chat.ts';
import { ResponsesToChatStream, chatToResponsesRequest, responseToChatCompletion } from '../transform/chat-via-responses.ts';
import { ResponsesIdNormalizer } from '../transform/responses.ts';
import { formatSse } from '../transform/sse.ts';
import { requestSignal } from '../stream-util.ts';
import { relaySse, streamEndedEarly, type SseTranslator } from './event-relay.ts';

export function chatHandlers(ctx: ProxyContext): { completions: RequestHandler } {
  const completions: RequestHandler = async (req, res) => {
    const fields = logFields(res);
    const prep = prepareChat(req.body);
    fields.model = prep.model;
    fields.streamed = prep.stream;
    const target = await ctx.router.route(prep.model, 'chat');
    noteRoutedModel(fields, target);
    if (target.wire === 'responses') await chatViaResponses(ctx, req, res, prep, target);
    else await chatCompletions(ctx, req, res, prep, target);
  };
  return { completions };
}

/** Copilot's /chat/completions, with its stream quirks smoothed. */
async function chatCompletions(ctx: ProxyContext, req: Request, res: Response, prep: PreparedChat, target: RoutedModel): Promise<void> {
  const fields = logFields(res);
  const limited = withOutputLimit({ ...prep.upstreamBody, model: target.id }, ['max_tokens', 'max_completion_tokens'], target.maxOutputTokens);
  logLowered(ctx.log, fields.requestId, limited.lowered, target);
  // reasoning_effort only where the model lists that effort (capabilities.supports.reasoning_effort).
  const { body, dropped } = withSupportedReasoningEffort(limited.body, target.model);
  if (dropped !== undefined) ctx.log.debug(`chat ${fields.requestId}: reasoning_effort ${JSON.stringify(dropped)} dropped: ${target.id} does not list it`);
  const idleSec = ctx.config.timeouts.stream_idle;
  const { signal, clientGone } = requestSignal(req, res, ctx.config.timeouts.proxy_context * 1000);
  const upstream = await callCopilot(ctx.gateway, { what: 'chat', path: '/chat/completions', signal, quietMs: ctx.config.timeouts.first_byte * 1000, stream: prep.stream, idleSec, call: callMeta(fields, prep) }, (o) =>
    ctx.copilot.createChatCompletion(body, o),
  );
  if (upstream.kind === 'json') {
    noteUsage(fields, upstream.json);
    answer(ctx, res, normalizeChatCompletion(upstream.json, target.id, ctx.now));
    return;
  }
  await relaySse(ctx, upstream, res, 'chat', signal, clientGone, chatTranslator(ctx, fields.requestId, prep, target.id));
}

/** A model Copilot serves only on /responses (the Codex family), spoken to as Chat Completions. */
async function chatViaResponses(ctx: ProxyContext, req: Request, res: Response, prep: PreparedChat, target: RoutedModel): Promise<void> {
  const fields = logFields(res);
  const body = chatToResponsesRequest(prep.req, target.id, { stream: prep.stream, maxOutputTokens: target.maxOutputTokens });
  const idleSec = ctx.config.timeouts.stream_idle;
  const { signal, clientGone } = requestSignal(req, res, ctx.config.timeouts.proxy_context * 1000);
  const upstream = await callCopilot(ctx.gateway, { what: 'chat', path: '/responses', signal, quietMs: ctx.config.timeouts.first_byte * 1000, stream: prep.stream, idleSec, call: callMeta(fields, prep) }, (o) =>
    ctx.copilot.createResponse(body, o),
  );
  if (upstream.kind === 'json') {
    noteUsage(fields, upstream.json);
    answer(ctx, res, responseToChatCompletion(upstream.json, target.id, ctx.now));
    return;
  }
  const ids = new ResponsesIdNormalizer();
  const tr = new ResponsesToChatStream({ requestModel: target.id, clientWantsUsage: prep.clientWantsUsage, now: ctx.now });
  let malformed = 0;
  const t: SseTranslator = {
    event(ev, d) {
      if (d.kind === 'malformed') malformed += 1;
      if (d.kind !== 'json') return [];
      const out = tr.push(ids.push(d.value)).map((c) => formatSse(c));
      if (tr.failure !== undefined) throw streamEndedEarly(`it finished (${tr.failure})`);
      return out;
    },
    end() {
      if (malformed > 0) ctx.log.warn(`chat stream ${fields.requestId}: dropped ${malformed} malformed SSE event(s) from Copilot /responses`);
      if (!tr.done) throw streamEndedEarly('response.completed');
      return ['data: [DONE]\n\n'];
    },
    error: (p) => formatSse(errorBody('openai', p)),
  };
  await relaySse(ctx, upstream, res, 'chat', signal, clientGone, t);
}

/** A whole chat completion to the client. */
function answer(ctx: ProxyContext, res: Response, out: Record<string, unknown>): void {
  const fields = logFields(res);
  fields.ttfbMs = ctx.now() - fields.startedAt;
  res.json(out);
}

/** Copilot's chat SSE -> OpenAI's, through the shared relay: quirk chunks normalised, usage kept, `[DONE]` last. */
function chatTranslator(ctx: ProxyContext, requestId: string, prep: PreparedChat, model: string): SseTranslator {
  const norm = new ChatChunkNormalizer({ clientWantsUsage: prep.clientWantsUsage, requestModel: model, now: ctx.now });
  let sawDone = false;
  let malformed = 0;
  const out = (chunks: Record<string, unknown>[]) => chunks.map((chunk) => formatSse(chunk));
  return {
    event(ev, d) {
      if (sawDone) return [];
      if (d.kind === 'done') sawDone = true;
      if (d.kind === 'malformed') malformed += 1; // dropped; the stream goes on
      return d.kind === 'json' ? norm.pushSse(d.value, ev.data) : [];
    },
    end() {
      if (malformed > 0) ctx.log.warn(`chat stream ${requestId}: dropped ${malformed} malformed SSE event(s) from Copilot`);
      if (!sawDone && !norm.finishedAll) throw streamEndedEarly('it finished');
      // `data: [DONE]` with no choice before it: Copilot answered nothing (#20); the client gets an error event, not an empty success.
      if (!norm.sawChoice) throw streamEndedEarly('it sent any choice');
      return [...out(norm.finish()), 'data: [DONE]\n\n'];
    },
    error: (p) => formatSse(errorBody('openai', p)),
  };
}
