import type { RequestHandler } from '../http.ts';
import { callCopilot } from '../../upstream/call.ts';
import { logLowered, withOutputLimit } from '../models/router.ts';
import type { ProxyContext } from '../context.ts';
import { errorBody } from '../middleware/errors.ts';
import { callMeta, logFields, noteRoutedModel, noteUsage } from '../middleware/request-log.ts';
import { requestSignal } from '../stream-util.ts';
import { ResponsesIdNormalizer, normalizeResponse, prepareResponses } from '../transform/responses.ts';
import { formatSse } from '../transform/sse.ts';
import { relaySse, streamEndedEarly, type SseTranslator } from './event-relay.ts';

export function responsesHandlers(ctx: ProxyContext): { create: RequestHandler } {
  const create: RequestHandler = async (req, res) => {
    const fields = logFields(res);
    const prep = prepareResponses(req.body);
    fields.model = prep.model;
    fields.streamed = prep.stream;
    const target = await ctx.router.route(prep.model, 'responses');
    noteRoutedModel(fields, target);
    const { body, lowered } = withOutputLimit({ ...prep.upstreamBody, model: target.id }, ['max_output_tokens'], target.maxOutputTokens);
    logLowered(ctx.log, fields.requestId, lowered, target);
    const { signal, clientGone } = requestSignal(req, res, ctx.config.timeouts.proxy_context * 1000);
    const upstream = await callCopilot(
      ctx.gateway,
      { what: 'responses', path: '/responses', signal, quietMs: ctx.config.timeouts.first_byte * 1000, stream: prep.stream, idleSec: ctx.config.timeouts.stream_idle, call: callMeta(fields, prep) },
      (o) => ctx.copilot.createResponse(body, o),
    );
    if (upstream.kind === 'json') {
      noteUsage(fields, upstream.json);
      const out = normalizeResponse(upstream.json, target.id);
      fields.ttfbMs = ctx.now() - fields.startedAt;
      res.json(out);
      return;
    }
    await relaySse(ctx, upstream, res, '/responses', signal, clientGone, responsesTranslator(ctx, fields.requestId));
  };
  return { create };
}

/** Relays Responses events as they come (`event: type` + `data`), with consistent item ids. */
function responsesTranslator(ctx: ProxyContext, requestId: string): SseTranslator {
  const norm = new ResponsesIdNormalizer();
  let malformed = 0;
  let seq = 0;
  return {
    event(ev, d) {
      if (d.kind === 'done') return []; // not part of the Responses protocol; clients end on response.completed
      if (d.kind === 'malformed') {
        malformed += 1;
        return [];
      }
      const out = norm.push(d.value);
      const type = typeof out === 'object' && out !== null && 'type' in out && typeof out.type === 'string' ? out.type : ev.event;
      if (typeof out === 'object' && out !== null && 'sequence_number' in out && typeof out.sequence_number === 'number') seq = out.sequence_number + 1;
      return [formatSse(out, type)];
    },
    end() {
      if (malformed > 0) ctx.log.warn(`responses stream ${requestId}: dropped ${malformed} malformed SSE event(s) from Copilot`);
      if (!norm.finished) throw streamEndedEarly('response.completed');
      return [];
    },
    error(p) {
      // OpenAI's in-stream error event (type/code/message/param), plus the `error`
      // envelope that makes the OpenAI SDKs raise an APIError instead of yielding it.
      const { error } = errorBody('openai', p);
      return formatSse({ type: 'error', code: p.code, message: p.message, param: p.param, sequence_number: seq, error }, 'error');
    },
  };
}
