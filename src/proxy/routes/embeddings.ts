import { Router } from 'express';
import { readJson } from '../../upstream/copilot-client.ts';
import type { ProxyContext } from '../context.ts';
import { requireJsonBody } from '../middleware/json.ts';
import { logFields } from '../middleware/request-log.ts';
import { requestSignal } from '../stream-util.ts';
import { normalizeEmbeddings, prepareEmbeddings } from '../transform/embeddings.ts';

export function embeddingsRoutes(ctx: ProxyContext): Router {
  const router = Router();
  router.post(['/v1/embeddings', '/embeddings'], requireJsonBody, async (req, res) => {
    const fields = logFields(res);
    const prep = prepareEmbeddings(req.body, ctx.config.model_map);
    fields.model = prep.model;
    fields.streamed = false;
    const { signal } = requestSignal(req, res, ctx.config.timeouts.proxy_context * 1000);
    const upstream = await ctx.gateway.call('embeddings', signal, (auth, sig) =>
      ctx.copilot.createEmbeddings(prep.upstreamBody, { auth, requestId: fields.requestId, signal: sig }),
    );
    const out = normalizeEmbeddings(await readJson(upstream, '/embeddings'), prep.model, prep.format);
    fields.promptTokens = out.usage.prompt_tokens;
    fields.ttfbMs = ctx.now() - fields.startedAt;
    res.json(out);
  });
  return router;
}
