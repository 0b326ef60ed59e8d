import * as z from 'zod';
import { InvalidRequestError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { CopilotModel } from '../../upstream/copilot-client.ts';
import type { CachedFetcher } from '../cache.ts';
import { resolveModel, type ResolvedVia } from './resolve.ts';
import { RECORD_BOUNDS } from '../../usage/record.ts';

/**
 * Model routing in one place: every route asks `route()` which Copilot model
 * a requested name means and which Copilot endpoint ("wire") serves it, from
 * the model's `supported_endpoints`.
 */

/** The API the client spoke. */
export type ClientApi = 'chat' | 'responses' | 'messages' | 'embeddings';
/** The Copilot endpoint the request goes to. */
export type Wire = 'chat' | 'responses' | 'messages' | 'embeddings';

export interface RoutedModel {
  requested: string;
  /** What Copilot gets. */
  id: string;
  model: CopilotModel | undefined;
  via: ResolvedVia;
  wire: Wire;
  /** The model's `capabilities.limits.max_output_tokens`, when Copilot says. */
  maxOutputTokens: number | undefined;
}

export interface ModelRouter {
  route(requested: string, api: ClientApi): Promise<RoutedModel>;
  /** Models whose native /v1/messages refused `role: "system"` entries: fold them for these from now on. */
  readonly foldSystemFor: Set<string>;
}

/** Pure: where a request for `model` spoken as `api` goes. Without `supported_endpoints`, each API goes to its own endpoint (messages: chat). */
export function wireFor(model: CopilotModel | undefined, api: ClientApi): Wire {
  if (api === 'embeddings' || api === 'responses') return api;
  const eps = model?.supported_endpoints;
  const responsesOnly = eps !== undefined && !eps.includes('/chat/completions') && eps.includes('/responses');
  if (api === 'messages') {
    if (eps?.includes('/v1/messages')) return 'messages';
    return responsesOnly ? 'responses' : 'chat';
  }
  return responsesOnly ? 'responses' : 'chat';
}

/** A 404 in the caller's shape that lists what is available. */
export class ModelNotFoundError extends InvalidRequestError {
  constructor(requested: string, available: readonly string[]) {
    super(
      `The model ${JSON.stringify(requested)} is not available through this Copilot subscription. Available models: ${available.join(', ') || '(none)'}`,
      { status: 404, code: 'model_not_found', param: 'model' },
    );
  }
}

/** A model name as clients may send it: bounded at the edge, so no name can grow a log line, a record or a set. */
export const MODEL_NAME = new RegExp(`^[A-Za-z0-9._:/@[\\]-]{1,${RECORD_BOUNDS.model}}$`);

export class InvalidModelNameError extends InvalidRequestError {
  constructor() {
    super('model must be 1 to 256 characters of letters, digits and . _ - : / @ [ ]', { status: 400, code: 'invalid_model', param: 'model' });
  }
}

export function createModelRouter(deps: { models: CachedFetcher<CopilotModel[]>; modelMap: Record<string, string>; fallback: boolean; log: Logger }): ModelRouter {
  const modelMap = new Map(Object.entries(deps.modelMap));
  // One line per resolved model and way (bounded by Copilot's list), not per name a client made up.
  const announced = new Set<string>();
  return {
    foldSystemFor: new Set<string>(),
    async route(requested, api) {
      if (!MODEL_NAME.test(requested)) throw new InvalidModelNameError();
      // Without the list the request fails with the list's error: a Copilot that cannot answer
      // /models (unreachable, refusing the token) cannot answer the request either, and trying
      // both would double the wait and the failures the circuit breaker counts.
      const models = await deps.models.get();
      const r = resolveModel(requested, models, { modelMap, fallback: deps.fallback, type: api === 'embeddings' ? 'embeddings' : 'chat' });
      if (r.kind === 'not_found') throw new ModelNotFoundError(requested, r.available);
      const key = `${r.via} ${r.id}`;
      if ((r.via === 'fallback' || r.via === 'dated') && !announced.has(key)) {
        announced.add(key);
        deps.log.info(`model ${JSON.stringify(requested)} -> ${JSON.stringify(r.id)} (${r.via}; later names that resolve the same way are not logged)`);
      }
      const max = r.model?.capabilities?.limits?.max_output_tokens;
      return { requested, id: r.id, model: r.model, via: r.via, wire: wireFor(r.model, api), maxOutputTokens: typeof max === 'number' && max > 0 ? max : undefined };
    },
  };
}

/**
 * The body with each of `keys` (`max_tokens`, `max_completion_tokens`,
 * `max_output_tokens`) lowered to the model's own output limit where it asks
 * for more (Copilot refuses it). Pure; says which keys it lowered.
 */
export function withOutputLimit<T extends Record<string, unknown>>(body: T, keys: readonly string[], max: number | undefined): { body: T; lowered: string[] } {
  if (max === undefined) return { body, lowered: [] };
  const lowered = keys.filter((k) => {
    const v = body[k];
    return typeof v === 'number' && v > max;
  });
  if (lowered.length === 0) return { body, lowered };
  return { body: { ...body, ...Object.fromEntries(lowered.map((k) => [k, max])) }, lowered };
}

/** The debug line for withOutputLimit's result. */
export function logLowered(log: Logger, requestId: string, lowered: readonly string[], target: RoutedModel): void {
  if (lowered.length > 0) log.debug(`request ${requestId}: ${lowered.join(', ')} lowered to ${target.id}'s max_output_tokens ${String(target.maxOutputTokens)}`);
}

const enabledThinking = z.object({ type: z.literal('enabled'), budget_tokens: z.number() }).passthrough();

/**
 * The body with Anthropic's `thinking.budget_tokens` moved into the model's
 * `capabilities.supports.min_thinking_budget`..`max_thinking_budget`, where it
 * lists them (Copilot refuses a budget outside them). Pure; says what changed.
 */
export function withThinkingBudget<T extends Record<string, unknown>>(body: T, model: CopilotModel | undefined): { body: T; changed: { from: number; to: number } | undefined } {
  const t = enabledThinking.safeParse(body.thinking);
  const s = model?.capabilities?.supports;
  if (!t.success || !s) return { body, changed: undefined };
  const from = t.data.budget_tokens;
  let to = from;
  if (s.max_thinking_budget !== undefined) to = Math.min(to, s.max_thinking_budget);
  // Anthropic refuses a budget that is not below max_tokens ("max_tokens must be greater than thinking.budget_tokens").
  const maxTokens = body.max_tokens;
  if (typeof maxTokens === 'number' && Number.isInteger(maxTokens) && maxTokens > 1) to = Math.min(to, maxTokens - 1);
  if (s.min_thinking_budget !== undefined) to = Math.max(to, s.min_thinking_budget);
  if (to === from) return { body, changed: undefined };
  return { body: { ...body, thinking: { ...t.data, budget_tokens: to } }, changed: { from, to } };
}

/**
 * The body without `reasoning_effort` when the model does not take that value
 * (its `capabilities.supports.reasoning_effort` does not list it, or is absent:
 * Copilot answers 400 for reasoning_effort on a model without it). Kept as sent
 * when the model is not in Copilot's list (a model_map target we know nothing of).
 */
export function withSupportedReasoningEffort(body: Record<string, unknown>, model: CopilotModel | undefined): { body: Record<string, unknown>; dropped: string | undefined } {
  const effort = body.reasoning_effort;
  if (typeof effort !== 'string' || model === undefined) return { body, dropped: undefined };
  if (model.capabilities?.supports?.reasoning_effort?.includes(effort)) return { body, dropped: undefined };
  const rest = { ...body };
  delete rest.reasoning_effort;
  return { body: rest, dropped: effort };
}
