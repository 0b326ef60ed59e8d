import type { Request, RequestHandler, Response } from '../http.ts';
import { UpstreamHttpError, UpstreamMalformedError } from '../../errors.ts';
import { callCopilot, type CopilotResult } from '../../upstream/call.ts';
import type { ProxyContext } from '../context.ts';
import { errorBody } from '../middleware/errors.ts';
import { callMeta, logFields, noteRoutedModel, noteUsage } from '../middleware/request-log.ts';
import { InvalidModelNameError, MODEL_NAME, logLowered, withOutputLimit, withThinkingBudget, type RoutedModel } from '../models/router.ts';
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
import { relaySse, streamEndedEarly, type SseTranslator } from './event-relay.ts';

/** Anthropic's API version when the client sends none (Copilot's /v1/messages follows Anthropic's contract). */
const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';
/** The beta under which Claude Code sends `role: "system"` entries inside `messages`. */
const MID_CONVERSATION_SYSTEM_BETA = /(^|,)\s*mid-conversation-system[\w-]*/;

export function messagesHandlers(ctx: ProxyContext): { create: RequestHandler; countTokens: RequestHandler } {
  const create: RequestHandler = async (req, res) => {
    const fields = logFields(res);
    const prep = prepareMessages(req.body);
    fields.model = prep.model;
    fields.streamed = prep.stream;
    const target = await ctx.router.route(prep.model, 'messages');
    noteRoutedModel(fields, target);
    if (target.wire === 'messages') await native(ctx, req, res, prep, target);
    else await translated(ctx, req, res, prep, target);
  };

  // An estimate (about 4 characters per token), so clients such as Claude Code can budget their context; no upstream call.
  const countTokens: RequestHandler = (req, res) => {
    const prep = prepareMessages(req.body);
    // The same bound as every model route (#20), though no model is called here.
    if (!MODEL_NAME.test(prep.model)) throw new InvalidModelNameError();
    logFields(res).model = prep.model;
    res.json({ input_tokens: estimateInputTokens(prep.req) });
  };
  return { create, countTokens };
}

function anthropicHeaders(req: Request): Record<string, string> {
  const h: Record<string, string> = { 'anthropic-version': req.get('anthropic-version') || DEFAULT_ANTHROPIC_VERSION };
  const beta = req.get('anthropic-beta');
  if (beta) h['anthropic-beta'] = beta;
  return h;
}

/**
 * Copilot refused `role: "system"` inside `messages`: Anthropic's validation error for that field,
 * `messages.N.role: Input should be 'user' or 'assistant'`. Only that one: other 400s that mention
 * a role or the system prompt (`system: text content blocks must be non-empty`) are the client's
 * to see, and must not switch folding on for the model.
 */
const SYSTEM_ROLE_REFUSED = /messages\.\d+\.role: Input should be 'user' or 'assistant'/;
function refusedSystemRole(err: unknown): boolean {
  return err instanceof UpstreamHttpError && err.status === 400 && SYSTEM_ROLE_REFUSED.test(err.message);
}


/** `thinking.budget_tokens` within the model's min/max thinking budget (withThinkingBudget), said in the debug log. */
function thinkingWithin<T extends Record<string, unknown>>(ctx: ProxyContext, requestId: string, body: T, target: RoutedModel): T {
  const r = withThinkingBudget(body, target.model);
  if (r.changed) ctx.log.debug(`request ${requestId}: thinking.budget_tokens ${r.changed.from} -> ${r.changed.to} (${target.id}'s thinking budget range)`);
  return r.body;
}

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
  const limited = withOutputLimit(thinkingWithin(ctx, fields.requestId, { ...prep.req, model: target.id }, target), ['max_tokens'], target.maxOutputTokens);
  logLowered(ctx.log, fields.requestId, limited.lowered, target);
  const send = (messages: MessagesRequest['messages']): Promise<CopilotResult> => {
    const body = { ...limited.body, messages };
    const call = { ...callMeta(fields, prep), extraHeaders: anthropicHeaders(req) };
    return callCopilot(ctx.gateway, { what: 'messages', path: '/v1/messages', signal, quietMs: ctx.config.timeouts.first_byte * 1000, stream: prep.stream, idleSec: ctx.config.timeouts.stream_idle, call }, (o) =>
      ctx.copilot.createMessages(body, o),
    );
  };
  const foldFirst = withSystem && (!declared || ctx.router.foldSystemFor.has(target.id));
  let upstream: CopilotResult;
  try {
    upstream = await send(foldFirst ? foldSystemMessages(prep.req.messages) : prep.req.messages);
  } catch (err) {
    if (foldFirst || !withSystem || !refusedSystemRole(err)) throw err;
    upstream = await send(foldSystemMessages(prep.req.messages));
    // Remembered only once folding worked: a retry that fails too says nothing about the role.
    ctx.router.foldSystemFor.add(target.id);
    ctx.log.info(`messages: Copilot refused system messages inside messages for ${target.id}; folding them into the user turn from now on`);
  }
  if (upstream.kind === 'json') {
    noteUsage(fields, upstream.json);
    fields.ttfbMs = ctx.now() - fields.startedAt;
    res.json(upstream.json);
    return;
  }
  const watcher = new NativeStreamWatcher();
  let malformed = 0;
  const t: SseTranslator = {
    event(ev, d) {
      if (d.kind !== 'json') {
        if (d.kind === 'malformed') malformed += 1;
        return [];
      }
      const problem = watcher.push(d.value);
      if (problem !== null) throw new UpstreamMalformedError(`Copilot /v1/messages stream ${problem}`);
      const type = typeof d.value === 'object' && d.value !== null && 'type' in d.value && typeof d.value.type === 'string' ? d.value.type : undefined;
      return [formatSse(d.value, ev.event ?? type)];
    },
    end() {
      if (malformed > 0) ctx.log.warn(`messages stream ${fields.requestId}: dropped ${malformed} malformed SSE event(s) from Copilot`);
      if (!watcher.sawStop && !watcher.sawError) throw streamEndedEarly('message_stop');
      return [];
    },
    error: (p) => formatSse(errorBody('anthropic', p), 'error'),
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
  const limited = withOutputLimit(thinkingWithin(ctx, fields.requestId, parseOrThrow(translatableRequestSchema, req.body), target), ['max_tokens'], target.maxOutputTokens);
  logLowered(ctx.log, fields.requestId, limited.lowered, target);
  const treq = limited.body;
  const chatBody = toChatRequest(treq, target.id);
  const viaResponses = target.wire === 'responses';
  const idleSec = ctx.config.timeouts.stream_idle;
  const { signal, clientGone } = requestSignal(req, res, ctx.config.timeouts.proxy_context * 1000);
  const call = callMeta(fields, prep);
  const upstream = viaResponses
    ? await callCopilot(ctx.gateway, { what: 'messages', path: '/responses', signal, quietMs: ctx.config.timeouts.first_byte * 1000, stream: prep.stream, idleSec, call }, (o) =>
        ctx.copilot.createResponse(chatToResponsesRequest(parseChatRequest(chatBody), target.id, { stream: prep.stream, maxOutputTokens: target.maxOutputTokens }), o),
      )
    : await callCopilot(ctx.gateway, { what: 'messages', path: '/chat/completions', signal, quietMs: ctx.config.timeouts.first_byte * 1000, stream: prep.stream, idleSec, call }, (o) => ctx.copilot.createChatCompletion(chatBody, o));
  if (upstream.kind === 'json') {
    const completion = viaResponses ? responseToChatCompletion(upstream.json, target.id, ctx.now) : upstream.json;
    noteUsage(fields, upstream.json);
    const out = fromChatCompletion(completion, treq.model);
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
    event(ev, d) {
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
  };
  await relaySse(ctx, upstream, res, '/v1/messages', signal, clientGone, t);
}
