import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { callCopilot } from '../../upstream/call.ts';
import type { ProxyContext } from '../context.ts';
import { errorBody } from '../middleware/errors.ts';
import { requireJsonBody } from '../middleware/json.ts';
import { logFields, recordTokens } from '../middleware/request-log.ts';
import { requestSignal } from '../stream-util.ts';
import {
  AnthropicStreamTranslator,
  NativeStreamWatcher,
  estimateInputTokens,
  fromChatCompletion,
  prepareMessages,
  toChatRequest,
  translatableRequestSchema,
  type PreparedMessages,
} from '../transform/anthropic.ts';
import { formatSse } from '../transform/sse.ts';
import { parseOrThrow } from '../transform/validate.ts';
import { eventData, relaySse, streamEndedEarly, type SseTranslator } from './event-relay.ts';

/** Anthropic's API version when the client sends none (Copilot's /v1/messages follows Anthropic's contract). */
const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

export function messagesRoutes(ctx: ProxyContext): Router {
  const router = Router();

  router.post(['/v1/messages', '/messages'], requireJsonBody, async (req, res) => {
    const fields = logFields(res);
    const prep = prepareMessages(req.body, ctx.config.model_map);
    fields.model = prep.model;
    fields.streamed = prep.stream;
    if (await servesMessagesNatively(ctx, prep.model)) await native(ctx, req, res, prep);
    else await translated(ctx, req, res, prep);
  });

  // An estimate (about 4 characters per token), so clients such as Claude Code can budget their context; no upstream call.
  router.post(['/v1/messages/count_tokens', '/messages/count_tokens'], requireJsonBody, (req, res) => {
    const prep = prepareMessages(req.body, ctx.config.model_map);
    logFields(res).model = prep.model;
    res.json({ input_tokens: estimateInputTokens(prep.req) });
  });

  return router;
}

/** Models whose Copilot /models entry lists `/v1/messages` speak Anthropic natively. */
async function servesMessagesNatively(ctx: ProxyContext, model: string): Promise<boolean> {
  try {
    const models = await ctx.models.get();
    return models.find((m) => m.id === model)?.supported_endpoints?.includes('/v1/messages') ?? false;
  } catch (err) {
    // Without the list, Chat Completions is the path every chat model takes.
    ctx.log.warn(`messages: cannot read the model list (${err instanceof Error ? err.message : String(err)}); translating to /chat/completions`);
    return false;
  }
}

function anthropicHeaders(req: Request): Record<string, string> {
  const h: Record<string, string> = { 'anthropic-version': req.get('anthropic-version') || DEFAULT_ANTHROPIC_VERSION };
  const beta = req.get('anthropic-beta');
  if (beta) h['anthropic-beta'] = beta;
  return h;
}

const nativeUsage = z.object({ usage: z.object({ input_tokens: z.unknown(), output_tokens: z.unknown() }).passthrough() }).passthrough();

async function native(ctx: ProxyContext, req: Request, res: Response, prep: PreparedMessages): Promise<void> {
  const fields = logFields(res);
  const { signal, clientGone } = requestSignal(req, res, ctx.config.timeouts.proxy_context * 1000);
  const upstream = await callCopilot(ctx.gateway, { what: 'messages', path: '/v1/messages', signal, stream: prep.stream, idleSec: ctx.config.timeouts.stream_idle }, (auth, sig) =>
    ctx.copilot.createMessages({ ...prep.req, model: prep.model }, {
      auth,
      requestId: fields.requestId,
      initiator: prep.initiator,
      vision: prep.vision,
      stream: prep.stream,
      signal: sig,
      extraHeaders: anthropicHeaders(req),
    }),
  );
  if (upstream.kind === 'json') {
    const json = upstream.json;
    const u = nativeUsage.safeParse(json);
    if (u.success) {
      recordTokens(fields, { prompt: u.data.usage.input_tokens, completion: u.data.usage.output_tokens });
    }
    fields.ttfbMs = ctx.now() - fields.startedAt;
    res.json(json);
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

async function translated(ctx: ProxyContext, req: Request, res: Response, prep: PreparedMessages): Promise<void> {
  const fields = logFields(res);
  const treq = parseOrThrow(translatableRequestSchema, req.body);
  const body = toChatRequest(treq, prep.model);
  const { signal, clientGone } = requestSignal(req, res, ctx.config.timeouts.proxy_context * 1000);
  const upstream = await callCopilot(ctx.gateway, { what: 'messages', path: '/chat/completions', signal, stream: prep.stream, idleSec: ctx.config.timeouts.stream_idle }, (auth, sig) =>
    ctx.copilot.createChatCompletion(body, {
      auth,
      requestId: fields.requestId,
      initiator: prep.initiator,
      vision: prep.vision,
      stream: prep.stream,
      signal: sig,
    }),
  );
  if (upstream.kind === 'json') {
    const out = fromChatCompletion(upstream.json, treq.model);
    recordTokens(fields, { prompt: out.usage.input_tokens + out.usage.cache_read_input_tokens, completion: out.usage.output_tokens });
    fields.ttfbMs = ctx.now() - fields.startedAt;
    res.json(out);
    return;
  }
  const tr = new AnthropicStreamTranslator({ model: treq.model });
  let sawDone = false;
  let malformed = 0;
  const t: SseTranslator = {
    event(ev) {
      const d = eventData(ev);
      if (d.kind === 'done') sawDone = true;
      if (d.kind === 'malformed') malformed += 1;
      if (d.kind !== 'json' || sawDone) return [];
      return tr.push(d.value).map((e) => formatSse(e.data, e.event));
    },
    end() {
      if (malformed > 0) ctx.log.warn(`messages stream ${fields.requestId}: dropped ${malformed} malformed SSE event(s) from Copilot`);
      if (!sawDone && !tr.sawFinish) throw streamEndedEarly('it finished');
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
