import type { RequestHandler } from '../http.ts';
import { callCopilot } from '../../upstream/call.ts';
import type { ProxyContext } from '../context.ts';
import { logFields, noteRoutedModel, noteUsage } from '../middleware/request-log.ts';
import { requestSignal } from '../stream-util.ts';
import { normalizeEmbeddings, prepareEmbeddings } from '../transform/embeddings.ts';

export function embeddingsHandlers(ctx: ProxyContext): { create: RequestHandler } {
  const create: RequestHandler = async (req, res) => {
    const fields = logFields(res);
    const prep = prepareEmbeddings(req.body);
    fields.model = prep.model;
    const target = await ctx.router.route(prep.model, 'embeddings');
    noteRoutedModel(fields, target);
    fields.streamed = false;
    const { signal } = requestSignal(req, res, ctx.config.timeouts.proxy_context * 1000);
    const upstream = await callCopilot(ctx.gateway, { what: 'embeddings', path: '/embeddings', signal, quietMs: ctx.config.timeouts.first_byte * 1000, stream: false, call: { requestId: fields.requestId } }, (o) =>
      ctx.copilot.createEmbeddings({ ...prep.upstreamBody, model: target.id }, o),
    );
    if (upstream.kind === 'json') noteUsage(fields, upstream.json);
    const out = normalizeEmbeddings(upstream.kind === 'json' ? upstream.json : undefined, target.id, prep.format);
    fields.ttfbMs = ctx.now() - fields.startedAt;
    res.json(out);
  };
  return { create };
}
