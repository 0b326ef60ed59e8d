import type { RequestHandler } from '../http.ts';
import { InvalidRequestError } from '../../errors.ts';
import type { ProxyContext } from '../context.ts';
import { allowedModels, toOpenAIModel, toOpenAIModelList } from '../transform/models.ts';

export function modelHandlers(ctx: ProxyContext): { list: RequestHandler; get: RequestHandler } {
  const list: RequestHandler = async (_req, res) => {
    res.json(toOpenAIModelList(allowedModels(await ctx.models.get(), ctx.config.allowed_models)));
  };
  // Model ids may hold slashes (e.g. "accounts/x/y"): take the whole rest of the path.
  // The table's `*id`: the rest of the path, slashes and all (the dispatch joins its segments).
  const get: RequestHandler = async (req, res) => {
    const raw = req.params.id ?? '';
    const id = Array.isArray(raw) ? raw.join('/') : raw;
    // Resolved as the model routes resolve it (model_map, dated and -latest names, fallback), so
    // what this says is what a request with the same name would reach. The answer keeps the id that
    // was asked for (OpenAI's SDKs and clients such as LiteLLM compare `retrieve(x).id` with x) and
    // names the Copilot model behind it in `resolved_id` when that differs.
    const target = await ctx.router.route(id, 'chat');
    const model = allowedModels(await ctx.models.get(), ctx.config.allowed_models).find((m) => m.id === target.id);
    if (!model) throw new InvalidRequestError(`The model '${id}' does not exist`, { status: 404, code: 'model_not_found', param: 'model' });
    res.json(model.id === id ? toOpenAIModel(model) : { ...toOpenAIModel(model), id, resolved_id: model.id });
  };
  return { list, get };
}
