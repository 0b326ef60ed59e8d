/**
 * What an upstream answer says it cost: token counts and Copilot's AI-credit
 * charge, read the same way from every shape Copilot answers in. Pure.
 *
 * - Chat Completions: `usage.{prompt_tokens, completion_tokens, prompt_tokens_details.cached_tokens}`,
 *   in the body or a stream's finish/trailing chunk.
 * - Responses: `usage.{input_tokens, output_tokens, input_tokens_details.cached_tokens}` in the
 *   result, or under `response` in the terminal events (`response.completed`, `.incomplete`, `.failed`).
 * - Anthropic Messages: `usage.{input_tokens, cache_read_input_tokens, cache_creation_input_tokens,
 *   output_tokens}` in the body, under `message` in `message_start`, and in `message_delta`.
 * - Copilot's charge: `copilot_usage.total_nano_aiu` (1e9 nano-AIU = 1 AI credit), beside `usage`
 *   at the top of the object, or under `response`/`message` (see test/fixtures/README.md for the recordings).
 *
 * Untrusted: every value is checked to be a whole non-negative number; anything else is left out and named.
 */

export interface UsageSeen {
  /** Input tokens, cached ones included. */
  input?: number;
  /** Of `input`, read from the prompt cache. */
  cached?: number;
  output?: number;
  /** Copilot's own charge for the request, in nano-AIU. */
  nanoAiu?: number;
  /** Values that were there but were not counts (`"12"`, -1, 1e999): for a debug line. */
  dropped?: string[];
}

function member(v: unknown, key: string): unknown {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.hasOwn(v, key) ? Reflect.get(v, key) : undefined;
}

/** A count as we keep it: a whole non-negative number. */
export function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function take(out: UsageSeen, name: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (isCount(v)) return v;
  (out.dropped ??= []).push(`${name}=${typeof v === 'number' ? String(v) : (JSON.stringify(v)?.slice(0, 40) ?? typeof v)}`);
  return undefined;
}

/** The usage-bearing object of an answer or event: itself, or its `response` (Responses events) or `message` (message_start). */
function holders(value: unknown): unknown[] {
  const out: unknown[] = [value];
  const response = member(value, 'response');
  if (response !== undefined) out.push(response);
  const message = member(value, 'message');
  if (message !== undefined) out.push(message);
  return out;
}

function readUsage(out: UsageSeen, usage: unknown): void {
  if (typeof usage !== 'object' || usage === null) return;
  // Chat Completions.
  const prompt = take(out, 'prompt_tokens', member(usage, 'prompt_tokens'));
  const completion = take(out, 'completion_tokens', member(usage, 'completion_tokens'));
  const chatCached = take(out, 'cached_tokens', member(member(usage, 'prompt_tokens_details'), 'cached_tokens'));
  if (prompt !== undefined) out.input = prompt;
  if (completion !== undefined) out.output = completion;
  if (chatCached !== undefined) out.cached = chatCached;
  // Responses and Anthropic both say input_tokens/output_tokens; Anthropic's input excludes cache reads and writes.
  const input = take(out, 'input_tokens', member(usage, 'input_tokens'));
  const output = take(out, 'output_tokens', member(usage, 'output_tokens'));
  const cacheRead = take(out, 'cache_read_input_tokens', member(usage, 'cache_read_input_tokens'));
  const cacheWrite = take(out, 'cache_creation_input_tokens', member(usage, 'cache_creation_input_tokens'));
  const responsesCached = take(out, 'input_tokens_details.cached_tokens', member(member(usage, 'input_tokens_details'), 'cached_tokens'));
  if (output !== undefined) out.output = output;
  if (input !== undefined) out.input = input + (cacheRead ?? 0) + (cacheWrite ?? 0);
  else if (cacheRead !== undefined && out.input !== undefined) out.input += cacheRead; // message_delta may repeat cache reads alone
  if (cacheRead !== undefined) out.cached = cacheRead;
  if (responsesCached !== undefined) out.cached = responsesCached;
}

/** What `value` (one upstream JSON answer or SSE event) says about usage; empty when nothing. */
export function usageIn(value: unknown): UsageSeen {
  const out: UsageSeen = {};
  for (const h of holders(value)) {
    readUsage(out, member(h, 'usage'));
    const cu = member(h, 'copilot_usage') ?? member(member(h, 'usage'), 'copilot_usage');
    const nano = take(out, 'copilot_usage.total_nano_aiu', member(cu, 'total_nano_aiu'));
    if (nano !== undefined) out.nanoAiu = nano;
  }
  return out;
}

/** `later` laid over `earlier`: a stream's later events say the final counts. */
export function mergeUsage(earlier: UsageSeen, later: UsageSeen): UsageSeen {
  const out: UsageSeen = { ...earlier };
  if (later.input !== undefined) out.input = later.input;
  if (later.cached !== undefined) out.cached = later.cached;
  if (later.output !== undefined) out.output = later.output;
  if (later.nanoAiu !== undefined) out.nanoAiu = later.nanoAiu;
  if (later.dropped) out.dropped = [...(earlier.dropped ?? []), ...later.dropped];
  return out;
}

/** A cheap test before an SSE event's data is searched for usage: only events that mention it can carry it. */
export function mayCarryUsage(data: string): boolean {
  return data.includes('usage');
}
