import * as z from 'zod';
import { InvalidRequestError } from '../../errors.ts';
import { formatSse } from './sse.ts';

/**
 * Pure transforms between OpenAI Chat Completions clients and Copilot's
 * /chat/completions, which speaks the same shape with a few quirks.
 */

const contentPart = z.object({ type: z.string() }).passthrough();
const message = z
  .object({
    role: z.string({ error: 'each message needs a role' }),
    content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
  })
  .passthrough();

/**
 * A token limit a client sets (max_tokens, max_completion_tokens,
 * max_output_tokens): a whole number from 1 to 2^31-1, never "100", 1.5, -1,
 * 0 or 1e300; out of range it is a 400 naming the field, not Copilot's problem.
 */
export function tokenLimit(name: string) {
  return z
    .number({ error: `${name} must be a whole number of tokens` })
    .int(`${name} must be a whole number of tokens`)
    .min(1, `${name} must be at least 1`)
    .max(2 ** 31 - 1, `${name} must be at most ${2 ** 31 - 1}`)
    .nullish();
}

/**
 * The most messages (or input items) one request may carry. Real agent
 * sessions stay in the low thousands (a context window fills first); a body of
 * 150,000 tiny messages costs the proxy's only thread ~0.3 s to validate, so
 * it is a 400 naming the bound instead (#20).
 */
export const MAX_MESSAGES = 10_000;

export const chatRequestSchema = z
  .object({
    model: z.string({ error: 'model is required and must be a string' }).min(1, 'model must not be empty'),
    messages: z.array(message, { error: 'messages must be an array' }).min(1, 'messages must not be empty').max(MAX_MESSAGES, `messages: at most ${MAX_MESSAGES} per request`),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().nullish() }).passthrough().nullish(),
    max_tokens: tokenLimit('max_tokens'),
    max_completion_tokens: tokenLimit('max_completion_tokens'),
    // OpenAI's own ranges: a 400 here, not Copilot's problem.
    n: z.number({ error: 'n must be a whole number' }).int('n must be a whole number').min(1, 'n must be at least 1').max(128, 'n must be at most 128').nullish(),
    temperature: z.number({ error: 'temperature must be a number' }).min(0, 'temperature must be from 0 to 2').max(2, 'temperature must be from 0 to 2').nullish(),
    top_p: z.number({ error: 'top_p must be a number' }).min(0, 'top_p must be from 0 to 1').max(1, 'top_p must be from 0 to 1').nullish(),
  })
  .passthrough();

export type ChatRequest = z.infer<typeof chatRequestSchema>;

export interface PreparedChat {
  req: ChatRequest;
  upstreamBody: Record<string, unknown>;
  model: string;
  stream: boolean;
  clientWantsUsage: boolean;
  initiator: 'user' | 'agent';
  vision: boolean;
}

export function parseChatRequest(body: unknown): ChatRequest {
  const r = chatRequestSchema.safeParse(body);
  if (!r.success) {
    const issue = r.error.issues[0];
    const param = issue?.path.map(String).join('.') || null;
    throw new InvalidRequestError(issue ? `${param ? `${param}: ` : ''}${issue.message}` : 'invalid request body', { param });
  }
  return r.data;
}

/** Copilot bills a premium request per user-initiated turn: only a last message from the user is `user`. */
export function initiatorOf(messages: ReadonlyArray<{ role: string }>): 'user' | 'agent' {
  return messages.at(-1)?.role === 'user' ? 'user' : 'agent';
}

/** Copilot wants `Copilot-Vision-Request: true` when any image is present. */
export function hasImage(messages: ReadonlyArray<{ content?: unknown }>): boolean {
  return messages.some(
    (m) =>
      Array.isArray(m.content) &&
      m.content.some((p: unknown) => typeof p === 'object' && p !== null && 'type' in p && (p.type === 'image_url' || p.type === 'input_image' || p.type === 'image')),
  );
}

/** Parse a chat request; `model` is the name the client asked for (the model router resolves it). */
export function prepareChat(body: unknown): PreparedChat {
  const req = parseChatRequest(body);
  const stream = req.stream === true;
  const clientWantsUsage = stream && req.stream_options?.include_usage === true;
  const model = req.model;
  const upstreamBody: Record<string, unknown> = { ...req, model };
  // Always ask for usage when streaming, so the request log can count tokens;
  // the normaliser strips it again for clients that did not ask.
  if (stream) upstreamBody.stream_options = { ...(req.stream_options ?? {}), include_usage: true };
  return { req, upstreamBody, model, stream, clientWantsUsage, initiator: initiatorOf(req.messages), vision: hasImage(req.messages) };
}

/** Copilot's usage object as sent; its counts are validated where they are recorded (recordTokens). */
export type Usage = Record<string, unknown>;

const chunkSchema = z
  .object({
    id: z.string().nullish(),
    model: z.string().nullish(),
    created: z.number().nullish(),
    object: z.string().nullish(),
    choices: z.array(z.object({}).passthrough()).nullish(),
    usage: z.object({}).passthrough().nullish(),
  })
  .passthrough();

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const optional = <T>(v: unknown, is: (x: unknown) => x is T): v is T | null | undefined => v === undefined || v === null || is(v);
const isString = (x: unknown): x is string => typeof x === 'string';
const isNumber = (x: unknown): x is number => typeof x === 'number';
const isChoices = (x: unknown): x is Record<string, unknown>[] => Array.isArray(x) && x.every(isObject);

/**
 * A stream chunk's fields, checked as chunkSchema checks them (the same rules,
 * without zod's copy of every object): null when the chunk is not one.
 */
export interface ChunkFields {
  chunk: Record<string, unknown>;
  id?: string | null;
  model?: string | null;
  created?: number | null;
  choices?: Record<string, unknown>[] | null;
  usage?: Usage | null;
}

export function chunkFields(raw: unknown): ChunkFields | null {
  if (!isObject(raw)) return null;
  const { id, model, created, object, choices, usage } = raw;
  if (!optional(id, isString) || !optional(model, isString) || !optional(created, isNumber) || !optional(object, isString) || !optional(choices, isChoices) || !optional(usage, isObject)) return null;
  return { chunk: raw, id, model, created, choices, usage };
}

/**
 * Normalises Copilot's stream into what OpenAI clients expect:
 * - Copilot's first chunk has empty `choices`, `id: ""`, `created: 0` and no model
 *   (it only carries `prompt_filter_results`): dropped.
 * - Every chunk gets a stable `id`, `model`, `created` and `object`.
 * - Usage may come in the finish chunk or in a trailing chunk with empty `choices`:
 *   it is read before any chunk is skipped, and sent the OpenAI way (one last
 *   chunk with `choices: []` and `usage`) only when the client asked for it.
 */
export class ChatChunkNormalizer {
  private id: string | undefined;
  private created: number | undefined;
  private model: string;
  private pendingUsage: Usage | undefined;
  /** Choice indexes seen, and whether each got a finish_reason or a tool call. */
  private readonly choicesSeen = new Map<number, { finished: boolean; toolCalls: boolean }>();
  usage: Usage | undefined;

  constructor(
    private readonly opts: { clientWantsUsage: boolean; requestModel: string; now?: () => number; newId?: () => string },
  ) {
    this.model = opts.requestModel;
  }

  /** One upstream chunk in (already JSON-parsed); zero or more chunks out. One copy of the chunk, no re-validation pass. */
  push(raw: unknown): Record<string, unknown>[] {
    const c = this.take(raw);
    return c ? [this.normalised(c)] : [];
  }

  /**
   * push, as SSE text for the client. `text` is the event's data, the JSON
   * `raw` was parsed from. A chunk that normalising would leave as it came but
   * for `object` (Copilot sends none) goes out as Copilot's own text with
   * `object` put first: no copy and no re-serialise of the chunk, which were
   * ~12 % of a stream's CPU in the profile (#22; measured in the README,
   * Performance). Any other chunk goes out as its normalised JSON.
   */
  pushSse(raw: unknown, text: string): string[] {
    const c = this.take(raw);
    if (!c) return [];
    if (text.startsWith('{') && this.needsOnlyObject(c)) return [formatSse(`{"object":"chat.completion.chunk",${text.slice(1)}`)];
    return [formatSse(this.normalised(c))];
  }

  /** Reads a chunk into the stream's state; the chunk when it has choices to send on, else null (quirk or usage-only chunk, or not a chunk). */
  private take(raw: unknown): (ChunkFields & { choices: Record<string, unknown>[] }) | null {
    const c = chunkFields(raw);
    if (!c) return null;
    if (c.id) this.id ??= c.id;
    if (c.model) this.model = c.model;
    if (c.created) this.created ??= c.created;
    if (c.usage) {
      this.usage = c.usage;
      this.pendingUsage = c.usage;
    }
    const choices = c.choices ?? [];
    if (choices.length === 0) return null; // quirk chunk or usage-only chunk: usage kept above
    for (const ch of choices) this.track(ch);
    return { ...c, choices };
  }

  private normalised(c: ChunkFields & { choices: Record<string, unknown>[] }): Record<string, unknown> {
    const out: Record<string, unknown> = { ...c.chunk, choices: c.choices.map((ch) => withReasoningContent(ch, 'delta')) };
    if ('usage' in out) delete out.usage; // OpenAI sends usage only in its own final chunk
    return this.stamp(out);
  }

  /** Whether normalised(c) would differ from the chunk as sent only by its added `object`. */
  private needsOnlyObject(c: ChunkFields & { choices: Record<string, unknown>[] }): boolean {
    const { chunk } = c;
    return (
      !Object.hasOwn(chunk, 'object') &&
      !Object.hasOwn(chunk, 'usage') &&
      typeof c.id === 'string' && c.id !== '' && c.id === this.id &&
      typeof c.created === 'number' && c.created !== 0 && c.created === this.created &&
      typeof c.model === 'string' && c.model !== '' && c.model === this.model &&
      c.choices.every((ch) => withReasoningContent(ch, 'delta') === ch)
    );
  }

  /**
   * Stream ended ([DONE] or EOF): a finish chunk for every choice Copilot left
   * without one (seen with Gemini models: tool calls, then `[DONE]` with no
   * finish_reason; OpenAI clients wait for it), then the OpenAI-style usage
   * chunk, if the client asked.
   */
  finish(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    const unfinished = [...this.choicesSeen].filter(([, c]) => !c.finished);
    if (unfinished.length > 0) {
      out.push(this.stamp({ choices: unfinished.map(([index, c]) => ({ index, delta: {}, finish_reason: c.toolCalls ? 'tool_calls' : 'stop' })) }));
      for (const [, c] of unfinished) c.finished = true;
    }
    if (this.opts.clientWantsUsage && this.pendingUsage) {
      out.push(this.stamp({ choices: [], usage: this.pendingUsage }));
      this.pendingUsage = undefined;
    }
    return out;
  }

  /** Whether the stream finished every choice it started. */
  /** Whether any choice came at all: a stream of `[DONE]` alone (or of `{}`s) answered nothing. */
  get sawChoice(): boolean {
    return this.choicesSeen.size > 0;
  }

  get finishedAll(): boolean {
    return this.choicesSeen.size > 0 && [...this.choicesSeen.values()].every((c) => c.finished);
  }

  private track(choice: Record<string, unknown>): void {
    const index = typeof choice.index === 'number' ? choice.index : 0;
    const seen = this.choicesSeen.get(index) ?? { finished: false, toolCalls: false };
    const delta = choice.delta;
    if (typeof delta === 'object' && delta !== null && Array.isArray(Reflect.get(delta, 'tool_calls'))) seen.toolCalls = true;
    if (typeof choice.finish_reason === 'string' && choice.finish_reason !== '') seen.finished = true;
    this.choicesSeen.set(index, seen);
  }

  /** Sets the stable fields on a chunk this class just made (its own object, so no further copy). */
  private stamp(chunk: Record<string, unknown>): Record<string, unknown> {
    this.id ??= this.opts.newId?.() ?? `chatcmpl-${Math.random().toString(36).slice(2, 14)}`;
    this.created ??= Math.floor((this.opts.now?.() ?? Date.now()) / 1000);
    chunk.id = this.id;
    chunk.object = 'chat.completion.chunk';
    chunk.created = this.created;
    chunk.model = this.model;
    return chunk;
  }
}

/** Non-stream: fill the fields OpenAI clients rely on that Copilot may leave out. */
export function normalizeChatCompletion(raw: unknown, requestModel: string, now: () => number = Date.now): Record<string, unknown> {
  const parsed = chunkSchema.safeParse(raw);
  if (!parsed.success) return { object: 'chat.completion', model: requestModel, choices: [] };
  const r = parsed.data;
  return {
    ...r,
    id: r.id || `chatcmpl-${Math.random().toString(36).slice(2, 14)}`,
    object: 'chat.completion',
    created: r.created || Math.floor(now() / 1000),
    model: r.model || requestModel,
    choices: (r.choices ?? []).map((c) => withReasoningContent(c, 'message')),
  };
}

/**
 * Claude via Copilot puts its reasoning in `reasoning_text` (plus an opaque
 * `reasoning_opaque`). Most OpenAI-compatible clients read `reasoning_content`
 * (DeepSeek's name, adopted widely): add it alongside, keep Copilot's fields.
 */
export function withReasoningContent(choice: Record<string, unknown>, key: 'delta' | 'message'): Record<string, unknown> {
  const part = choice[key];
  if (typeof part !== 'object' || part === null || !('reasoning_text' in part)) return choice;
  const p = part as Record<string, unknown>;
  if (typeof p.reasoning_text !== 'string' || 'reasoning_content' in p) return choice;
  return { ...choice, [key]: { ...p, reasoning_content: p.reasoning_text } };
}
