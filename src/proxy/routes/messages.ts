import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { UpstreamHttpError } from '../../errors.ts';
import { callCopilot, type CopilotResult } from '../../upstream/call.ts';
import type { ProxyContext } from '../context.ts';
import { errorBody } from '../middleware/errors.ts';
import { requireJsonBody } from '../middleware/json.ts';
import { callMeta, logFields, noteRoutedModel, recordTokens } from '../middleware/request-log.ts';
import { logLowered, withOutputLimit, type RoutedModel } from '../models/router.ts';
import { requestSignal } from '../stream-util.ts';
import { estimateInputTokens } from '../transform/anthropic/count-tokens.ts';
import { NativeStreamWatcher } from '../transform/anthropic/native-stream.ts';
import {
  foldSystemMessages,
  hasSystemMessages,
  prepareMessages,
  toChatRequest,
  translatableRequestSchema,
  type MessagesRequest,
  type PreparedMessages,
} from '../transform/anthropic/request.ts';
import { fromChatCompletion } from '../transform/anthropic/response.ts';
import { AnthropicStreamTranslator } from '../transform/anthropic/stream.ts';
import { parseChatRequest } from '../transform/chat.ts';
import { ResponsesToChatStream, chatToResponsesRequest, responseToChatCompletion } from '../transform/chat-via-responses.ts';
import { ResponsesIdNormalizer } from '../transform/responses.ts';
import { formatSse } from '../transform/sse.ts';
import { parseOrThrow } from '../transform/validate.ts';
import { eventData, relaySse, streamEndedEarly, type SseTranslator } from './event-relay.ts';

/** Anthropic's API version when the client sends none (Copilot's /v1/messages follows Anthropic's contract). */
const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';
/** The beta under which Claude Code sends `role: "system"` entries inside `messages`. */
const MID_CONVERSATION_SYSTEM_BETA = /(^|,)\s*mid-conversation-system[\w-]*/;

export function messagesRoutes(ctx: ProxyContext): Router {
  const router = Router();

  router.post(['/v1/messages', '/messages'], requireJsonBody, async (req, res) => {
    const fields = logFields(res);
    const prep = prepareMessages(req.body);
    fields.model = prep.model;
    fields.streamed = prep.stream;
    const target = await ctx.router.route(prep.model, 'messages');
    noteRoutedModel(fields, target);
    if (target.wire === 'messages') await native(ctx, req, res, prep, target);
    else await translated(ctx, req, res, prep, target);
  });

  // An estimate (about 4 characters per token), so clients such as Claude Code can budget their context; no upstream call.
  router.post(['/v1/messages/count_tokens', '/messages/count_tokens'], requireJsonBody, (req, res) => {
    const prep = prepareMessages(req.body);
    logFields(res).model = prep.model;
    res.json({ input_tokens: estimateInputTokens(prep.req) });
  });

  return router;
}

function anthropicHeaders(req: Request): Record<string, string> {
  const h: Record<string, string> = { 'anthropic-version': req.get('anthropic-version') || DEFAULT_ANTHROPIC_VERSION };
  const beta = req.get('anthropic-beta');
  if (beta) h['anthropic-beta'] = beta;
  return h;
}

/** Copilot refused `role: "system"` inside `messages` (an Anthropic-style 400 naming the role). */
function refusedSystemRole(err: unknown): boolean {
  return err instanceof UpstreamHttpError && err.status === 400 && /role|system/i.test(err.message);
}

const nativeUsage = z.object({ usage: z.object({ input_tokens: z.unknown(), output_tokens: z.unknown() }).passthrough() }).passthrough();

/**
 * Claude models, served by Copilot's own /v1/messages. System entries inside
 * `messages` pass through when the client declared their beta; when it did not,
 * or when Copilot refused them once for this model (a 400 about the role), they
 * are folded into the neighbouring user turn (foldSystemMessages) and the
 * request is sent again.
 */
async function native(ctx: ProxyContext, req: Request, res: Response, prep: PreparedMessages, target: RoutedModel): Promise<void> {
  const fields = logFields(res);
  const { signal, clientGone } = requestSignal(req, res, ctx.config.timeouts.proxy_context * 1000);
  const withSystem = hasSystemMessages(prep.req.messages);
  const declared = MID_CONVERSATION_SYSTEM_BETA.test(req.get('anthropic-beta') ?? '');
  const limited = withOutputLimit({ ...prep.req, model: target.id }, ['max_tokens'], target.maxOutputTokens);
  logLowered(ctx.log, fields.requestId, limited.lowered, target);
  const send = (messages: MessagesRequest['messages']): Promise<CopilotResult> => {
    const body = { ...limited.body, messages };
    const call = { ...callMeta(fields, prep), extraHeaders: anthropicHeaders(req) };
    return callCopilot(ctx.gateway, { what: 'messages', path: '/v1/messages', signal, stream: prep.stream, idleSec: ctx.config.timeouts.stream_idle, call }, (o) =>
      ctx.copilot.createMessages(body, o),
    );
  };
  const foldFirst = withSystem && (!declared || ctx.router.foldSystemFor.has(target.id));
  let upstream: CopilotResult;
  try {
    upstream = await send(foldFirst ? foldSystemMessages(prep.req.messages) : prep.req.messages);
  } catch (err) {
    if (foldFirst || !withSystem || !refusedSystemRole(err)) throw err;
    ctx.router.foldSystemFor.add(target.id);
    ctx.log.info(`messages: Copilot refused system messages inside messages for ${target.id}; folding them into the user turn from now on`);
    upstream = await send(foldSystemMessages(prep.req.messages));
  }
  if (upstream.kind === 'json') {
    const u = nativeUsage.safeParse(upstream.json);
    if (u.success) recordTokens(fields, { prompt: u.data.usage.input_tokens, completion: u.data.usage.output_tokens });
    fields.ttfbMs = ctx.now() - fields.startedAt;
    res.json(upstream.json);
    return;
  }
  const watcher = new NativeStreamWatcher();
  let malformed = 0;
  const t: SseTranslator = {
    event(ev) {
      const d = eventData(ev);
      if (d.kind !== 'json') {
        if (d.kind === 'malformed') malformed += 1;
        return [];
      }
      watcher.push(d.value);
      const type = typeof d.value === 'object' && d.value !== null && 'type' in d.value && typeof d.value.type === 'string' ? d.value.type : undefined;
      return [formatSse(d.value, ev.event ?? type)];
    },
    end() {
      if (malformed > 0) ctx.log.warn(`messages stream ${fields.requestId}: dropped ${malformed} malformed SSE event(s) from Copilot`);
      if (!watcher.sawStop && !watcher.sawError) throw streamEndedEarly('message_stop');
      return [];
    },
    error: (p) => formatSse(errorBody('anthropic', p), 'error'),
    usage: () => ({ prompt: watcher.inputTokens, completion: watcher.outputTokens }),
  };
  await relaySse(ctx, upstream, res, '/v1/messages', signal, clientGone, t);
}

/**
 * Every other model: the Anthropic request is translated to Chat Completions;
 * for a model Copilot serves only on /responses, that chat request goes on
 * through the Chat Completions -> Responses translation. The answer comes back
 * the same way, as chat completion (chunks), then as Anthropic's message (events).
 */
async function translated(ctx: ProxyContext, req: Request, res: Response, prep: PreparedMessages, target: RoutedModel): Promise<void> {
  const fields = logFields(res);
  const limited = withOutputLimit(parseOrThrow(translatableRequestSchema, req.body), ['max_tokens'], target.maxOutputTokens);
  logLowered(ctx.log, fields.requestId, limited.lowered, target);
  const treq = limited.body;
  const chatBody = toChatRequest(treq, target.id);
  const viaResponses = target.wire === 'responses';
  const idleSec = ctx.config.timeouts.stream_idle;
  const { signal, clientGone } = requestSignal(req, res, ctx.config.timeouts.proxy_context * 1000);
  const call = callMeta(fields, prep);
  const upstream = viaResponses
    ? await callCopilot(ctx.gateway, { what: 'messages', path: '/responses', signal, stream: prep.stream, idleSec, call }, (o) =>
        ctx.copilot.createResponse(chatToResponsesRequest(parseChatRequest(chatBody), target.id, { stream: prep.stream, maxOutputTokens: target.maxOutputTokens }), o),
      )
    : await callCopilot(ctx.gateway, { what: 'messages', path: '/chat/completions', signal, stream: prep.stream, idleSec, call }, (o) => ctx.copilot.createChatCompletion(chatBody, o));
  if (upstream.kind === 'json') {
    const completion = viaResponses ? responseToChatCompletion(upstream.json, target.id, ctx.now) : upstream.json;
    const out = fromChatCompletion(completion, treq.model);
    recordTokens(fields, { prompt: out.usage.input_tokens + out.usage.cache_read_input_tokens, completion: out.usage.output_tokens });
    fields.ttfbMs = ctx.now() - fields.startedAt;
    res.json(out);
    return;
  }
  const tr = new AnthropicStreamTranslator({ model: treq.model });
  const ids = viaResponses ? new ResponsesIdNormalizer() : undefined;
  const fromResponses = viaResponses ? new ResponsesToChatStream({ requestModel: target.id, clientWantsUsage: true, now: ctx.now }) : undefined;
  let sawDone = false;
  let malformed = 0;
  const t: SseTranslator = {
    event(ev) {
      const d = eventData(ev);
      if (d.kind === 'done') sawDone = true;
      if (d.kind === 'malformed') malformed += 1;
      if (d.kind !== 'json' || sawDone) return [];
      const chunks = fromResponses && ids ? fromResponses.push(ids.push(d.value)) : [d.value];
      if (fromResponses?.failure !== undefined) throw streamEndedEarly(`it finished (${fromResponses.failure})`);
      return chunks.flatMap((c) => tr.push(c)).map((e) => formatSse(e.data, e.event));
    },
    end() {
      if (malformed > 0) ctx.log.warn(`messages stream ${fields.requestId}: dropped ${malformed} malformed SSE event(s) from Copilot`);
      if (fromResponses ? !fromResponses.done : !sawDone && !tr.sawFinish) throw streamEndedEarly('it finished');
      return tr.finish().map((e) => formatSse(e.data, e.event));
    },
    error: (p) => formatSse(errorBody('anthropic', p), 'error'),
    usage: () => {
      const u = tr.usage;
      return { prompt: u.input_tokens + u.cache_read_input_tokens, completion: u.output_tokens };
    },
  };
  await relaySse(ctx, upstream, res, '/v1/messages', signal, clientGone, t);
}
