import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { InvalidRequestError } from '../../errors.ts';
import { MAX_MESSAGES, tokenLimit } from './chat.ts';
import { parseOrThrow } from './validate.ts';

/**
 * Pure transforms between OpenAI Responses API clients and Copilot's /responses,
 * which speaks the same shape with one streaming quirk (see ResponsesIdNormalizer).
 */

const inputItem = z.object({ type: z.string().optional(), role: z.string().optional(), content: z.unknown().optional() }).passthrough();

export const responsesRequestSchema = z
  .object({
    model: z.string({ error: 'model is required and must be a string' }).min(1, 'model must not be empty'),
    input: z.union([z.string(), z.array(inputItem).min(1, 'input must not be empty')], {
      error: 'input must be a string or an array of input items',
    }),
    stream: z.boolean().nullish(),
    max_output_tokens: tokenLimit('max_output_tokens'),
    // Not a Responses field, but clients send it: checked like the rest rather than forwarded as is.
    max_tokens: tokenLimit('max_tokens'),
  })
  .passthrough();

export type ResponsesRequest = z.infer<typeof responsesRequestSchema>;
type InputItem = z.infer<typeof inputItem>;

export interface PreparedResponses {
  upstreamBody: Record<string, unknown>;
  model: string;
  stream: boolean;
  initiator: 'user' | 'agent';
  vision: boolean;
}

/** A message item: `type: "message"` or no type at all (the short `{role, content}` form). */
function isMessage(item: InputItem): boolean {
  return item.type === undefined || item.type === 'message';
}

/** `user` only when the last input item is a user message; tool outputs and assistant items are `agent`. */
export function responsesInitiator(input: string | readonly InputItem[]): 'user' | 'agent' {
  if (typeof input === 'string') return 'user';
  const last = input.at(-1);
  return last && isMessage(last) && last.role === 'user' ? 'user' : 'agent';
}

export function responsesHasImage(input: string | readonly InputItem[]): boolean {
  if (typeof input === 'string') return false;
  return input.some(
    (item) => Array.isArray(item.content) && item.content.some((p: unknown) => typeof p === 'object' && p !== null && 'type' in p && p.type === 'input_image'),
  );
}

export function prepareResponses(body: unknown): PreparedResponses {
  // Counted before the schema looks at each item (a union would only say "invalid input").
  const input: unknown = typeof body === 'object' && body !== null && Object.hasOwn(body, 'input') ? Reflect.get(body, 'input') : undefined;
  if (Array.isArray(input) && input.length > MAX_MESSAGES) throw new InvalidRequestError(`input: at most ${MAX_MESSAGES} items per request`, { param: 'input' });
  const req = parseOrThrow(responsesRequestSchema, body);
  const model = req.model;
  return {
    upstreamBody: { ...req, model },
    model,
    stream: req.stream === true,
    initiator: responsesInitiator(req.input),
    vision: responsesHasImage(req.input),
  };
}

export interface ResponsesUsage {
  input_tokens?: number;
  output_tokens?: number;
}

const usageSchema = z.object({ input_tokens: z.number().optional(), output_tokens: z.number().optional() }).passthrough();

export function readResponsesUsage(response: unknown): ResponsesUsage | undefined {
  if (typeof response !== 'object' || response === null || !('usage' in response)) return undefined;
  const u = usageSchema.safeParse(response.usage);
  return u.success ? u.data : undefined;
}

const responseSchema = z.object({ id: z.string().nullish(), object: z.string().nullish(), output: z.array(z.unknown()).nullish() }).passthrough();

/** Non-stream: fill what OpenAI clients rely on that Copilot may leave out. */
export function normalizeResponse(raw: unknown, requestModel: string, newId: () => string = () => randomId('resp_')): Record<string, unknown> {
  const parsed = responseSchema.safeParse(raw);
  if (!parsed.success) return { id: newId(), object: 'response', model: requestModel, status: 'completed', output: [] };
  const r = parsed.data;
  return { ...r, id: r.id || newId(), object: 'response', model: typeof r.model === 'string' && r.model ? r.model : requestModel, output: r.output ?? [] };
}

export function randomId(prefix: string): string {
  return prefix + randomBytes(12).toString('hex');
}

const eventSchema = z
  .object({
    type: z.string(),
    output_index: z.number().int().optional(),
    item_id: z.string().optional(),
    item: z.object({ id: z.string().nullish(), type: z.string().optional() }).passthrough().optional(),
    response: z.object({ output: z.array(z.unknown()).nullish() }).passthrough().optional(),
  })
  .passthrough();

const outputEntry = z.object({ id: z.string().nullish(), type: z.string().optional() }).passthrough();

const TERMINAL = new Set(['response.completed', 'response.failed', 'response.incomplete']);

/**
 * Copilot's /responses stream gives one output item a different id in
 * `response.output_item.added`, in its per-part events (`item_id` of text
 * deltas, content parts, argument deltas) and in `output_item.done` /
 * `response.completed` — sometimes none at all (Menci/Floway#119,
 * BerriAI/litellm#30071). Spec-strict clients key their state by item id and
 * break. `output_index` is stable, so the id first seen for an index (or a
 * minted one) becomes the item's id in every later event.
 */
export class ResponsesIdNormalizer {
  private readonly ids = new Map<number, string>();
  /** Ids Copilot used anywhere, pointing at the canonical id (for events that lack `output_index`). */
  private readonly aliases = new Map<string, string>();
  private sawTerminal = false;
  usage: ResponsesUsage | undefined;

  constructor(private readonly newId: (prefix: string) => string = randomId) {}

  /** True once `response.completed`, `.failed` or `.incomplete` went by. */
  get finished(): boolean {
    return this.sawTerminal;
  }

  /** One upstream event (JSON-parsed `data`) in; the same event with consistent ids out. Unknown shapes pass unchanged. */
  push(raw: unknown): unknown {
    const parsed = eventSchema.safeParse(raw);
    if (!parsed.success) return raw;
    const ev: Record<string, unknown> = { ...parsed.data };
    const { type, output_index: index, item_id: itemId, item, response } = parsed.data;

    if (item && index !== undefined) ev.item = { ...item, id: this.canonical(index, item.id ?? undefined, item.type) };
    if (itemId !== undefined) ev.item_id = index !== undefined ? this.canonical(index, itemId) : (this.aliases.get(itemId) ?? itemId);
    else if (index !== undefined && !item && this.ids.has(index)) ev.item_id = this.ids.get(index); // part-level events always carry one in OpenAI's stream
    if (response) {
      if (Array.isArray(response.output)) ev.response = { ...response, output: response.output.map((o, i) => this.fixOutput(o, i)) };
      if (TERMINAL.has(type)) {
        this.sawTerminal = true;
        this.usage = readResponsesUsage(response) ?? this.usage;
      }
    }
    return ev;
  }

  private fixOutput(o: unknown, i: number): unknown {
    const p = outputEntry.safeParse(o);
    if (!p.success) return o;
    return { ...p.data, id: this.canonical(i, p.data.id ?? undefined, p.data.type) };
  }

  private canonical(index: number, seen: string | undefined, itemType?: string): string {
    let id = this.ids.get(index);
    if (id === undefined) {
      id = seen || this.newId(prefixFor(itemType));
      this.ids.set(index, id);
    }
    if (seen) this.aliases.set(seen, id);
    return id;
  }
}

function prefixFor(itemType: string | undefined): string {
  switch (itemType) {
    case 'function_call':
      return 'fc_';
    case 'reasoning':
      return 'rs_';
    case 'message':
      return 'msg_';
    default:
      return 'item_';
  }
}
