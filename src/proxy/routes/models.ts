import { Router } from 'express';
import { InvalidRequestError } from '../../errors.ts';
import type { ProxyContext } from '../context.ts';
import { allowedModels, toOpenAIModel, toOpenAIModelList } from '../transform/models.ts';

export function modelRoutes(ctx: ProxyContext): Router {
  const router = Router();
  router.get(['/v1/models', '/models'], async (_req, res) => {
    res.json(toOpenAIModelList(allowedModels(await ctx.models.get(), ctx.config.allowed_models)));
  });
  // Model ids may hold slashes (e.g. "accounts/x/y"): take the whole rest of the path.
  router.get(['/v1/models/*id', '/models/*id'], async (req, res) => {
    const raw = (req.params as Record<string, string | string[]>).id ?? '';
    const id = Array.isArray(raw) ? raw.join('/') : raw;
    const wanted = ctx.config.model_map[id] ?? id;
    const model = allowedModels(await ctx.models.get(), ctx.config.allowed_models).find((m) => m.id === wanted);
    if (!model) throw new InvalidRequestError(`The model '${id}' does not exist`, { status: 404, code: 'model_not_found', param: 'model' });
    res.json(toOpenAIModel(model));
  });
  return router;
}
