import * as z from 'zod';
import { InvalidRequestError } from '../../errors.ts';
import type { ChatRequest } from './chat.ts';
import { randomId } from './responses.ts';

/**
 * Chat Completions spoken to a model Copilot serves only on /responses (the
 * Codex family): the request becomes a Responses request, and the answer (or
 * its event stream) becomes a chat completion (or chat chunks) again. Pure.
 */

// ---------------------------------------------------------------------------
// Request

const part = z.object({ type: z.string() }).passthrough();
const toolCall = z.object({ id: z.string(), type: z.string().optional(), function: z.object({ name: z.string(), arguments: z.string().nullish() }) }).passthrough();
const chatMessage = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: z.union([z.string(), z.array(part)]) }).passthrough(),
  z.object({ role: z.literal('developer'), content: z.union([z.string(), z.array(part)]) }).passthrough(),
  z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(part)]) }).passthrough(),
  z.object({ role: z.literal('assistant'), content: z.union([z.string(), z.array(part), z.null()]).optional(), tool_calls: z.array(toolCall).nullish() }).passthrough(),
  z.object({ role: z.literal('tool'), tool_call_id: z.string(), content: z.union([z.string(), z.array(part), z.null()]).optional() }).passthrough(),
]);

const fnTool = z.object({ type: z.literal('function'), function: z.object({ name: z.string(), description: z.string().nullish(), parameters: z.unknown().optional(), strict: z.boolean().nullish() }).passthrough() }).passthrough();
const toolChoice = z.union([z.enum(['auto', 'none', 'required']), z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }).passthrough()]);
const responseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }).passthrough(),
  z.object({ type: z.literal('json_object') }).passthrough(),
  z.object({ type: z.literal('json_schema'), json_schema: z.object({ name: z.string(), schema: z.unknown().optional(), strict: z.boolean().nullish(), description: z.string().nullish() }).passthrough() }).passthrough(),
]);

const translatable = z
  .object({
    messages: z.array(chatMessage),
    tools: z.array(z.unknown()).nullish(),
    tool_choice: toolChoice.nullish(),
    response_format: responseFormat.nullish(),
    max_tokens: z.number().nullish(),
    max_completion_tokens: z.number().nullish(),
    temperature: z.number().nullish(),
    top_p: z.number().nullish(),
    reasoning_effort: z.string().nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    user: z.string().nullish(),
  })
  .passthrough();

function textOf(content: string | ReadonlyArray<z.infer<typeof part>> | null | undefined): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((p) => (p.type === 'text' && typeof p.text === 'string' ? p.text : ''))
    .filter(Boolean)
    .join('\n\n');
}

function userParts(content: string | ReadonlyArray<z.infer<typeof part>>): Array<Record<string, unknown>> {
  if (typeof content === 'string') return [{ type: 'input_text', text: content }];
  return content.flatMap((p): Array<Record<string, unknown>> => {
    if (p.type === 'text' && typeof p.text === 'string') return [{ type: 'input_text', text: p.text }];
    if (p.type === 'image_url') {
      const iu = p.image_url;
      const url = typeof iu === 'string' ? iu : typeof iu === 'object' && iu !== null ? Reflect.get(iu, 'url') : undefined;
      const detail = typeof iu === 'object' && iu !== null ? Reflect.get(iu, 'detail') : undefined;
      if (typeof url !== 'string') throw new InvalidRequestError('image_url parts need image_url.url', { param: 'messages' });
      return [{ type: 'input_image', image_url: url, detail: typeof detail === 'string' ? detail : 'auto' }];
    }
    return [];
  });
}

/** The Responses request for a chat request (already validated as chat) sent to `model`. */
export function chatToResponsesRequest(req: ChatRequest, model: string, opts: { stream: boolean; maxOutputTokens?: number | undefined }): Record<string, unknown> {
  const parsed = translatable.safeParse(req);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue?.path.map(String).join('.') || null;
    throw new InvalidRequestError(`${param ? `${param}: ` : ''}${issue?.message ?? 'invalid'} (this model is served through the Responses API)`, { param });
  }
  const r = parsed.data;
  const input: Array<Record<string, unknown>> = [];
  for (const m of r.messages) {
    switch (m.role) {
      case 'system':
      case 'developer':
        input.push({ type: 'message', role: m.role, content: textOf(m.content) });
        break;
      case 'user':
        input.push({ type: 'message', role: 'user', content: userParts(m.content) });
        break;
      case 'assistant': {
        const text = textOf(m.content);
        if (text) input.push({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] });
        for (const c of m.tool_calls ?? []) input.push({ type: 'function_call', call_id: c.id, name: c.function.name, arguments: c.function.arguments ?? '' });
        break;
      }
      case 'tool':
        input.push({ type: 'function_call_output', call_id: m.tool_call_id, output: textOf(m.content) });
        break;
    }
  }
  const out: Record<string, unknown> = { model, input, stream: opts.stream, store: false };
  const tools = (r.tools ?? []).flatMap((t) => {
    const f = fnTool.safeParse(t);
    if (!f.success) return [];
    const fn = f.data.function;
    return [{ type: 'function', name: fn.name, ...(fn.description ? { description: fn.description } : {}), parameters: fn.parameters ?? { type: 'object', properties: {} }, strict: fn.strict ?? false }];
  });
  if (tools.length > 0) out.tools = tools;
  if (r.tool_choice) out.tool_choice = typeof r.tool_choice === 'string' ? r.tool_choice : { type: 'function', name: r.tool_choice.function.name };
  if (r.parallel_tool_calls != null) out.parallel_tool_calls = r.parallel_tool_calls;
  const max = r.max_completion_tokens ?? r.max_tokens;
  if (max != null) out.max_output_tokens = opts.maxOutputTokens !== undefined ? Math.min(max, opts.maxOutputTokens) : max;
  if (r.temperature != null) out.temperature = r.temperature;
  if (r.top_p != null) out.top_p = r.top_p;
  if (r.reasoning_effort) out.reasoning = { effort: r.reasoning_effort };
  if (r.user) out.user = r.user;
  const rf = r.response_format;
  if (rf && rf.type === 'json_object') out.text = { format: { type: 'json_object' } };
  if (rf && rf.type === 'json_schema') {
    const js = rf.json_schema;
    out.text = { format: { type: 'json_schema', name: js.name, schema: js.schema ?? {}, strict: js.strict ?? false, ...(js.description ? { description: js.description } : {}) } };
  }
  return out;
}

// ---------------------------------------------------------------------------
// Non-stream answer

const outputText = z.object({ type: z.literal('output_text'), text: z.string() }).passthrough();
const outputItem = z.union([
  z.object({ type: z.literal('message'), content: z.array(z.unknown()).nullish() }).passthrough(),
  z.object({ type: z.literal('function_call'), call_id: z.string().nullish(), id: z.string().nullish(), name: z.string(), arguments: z.string().nullish() }).passthrough(),
  z.object({ type: z.literal('reasoning'), summary: z.array(z.object({ text: z.string() }).passthrough()).nullish() }).passthrough(),
  z.object({ type: z.string() }).passthrough(),
]);
const responsesUsage = z
  .object({ input_tokens: z.unknown(), output_tokens: z.unknown(), input_tokens_details: z.object({ cached_tokens: z.unknown() }).passthrough().nullish() })
  .passthrough();
const responseBody = z
  .object({
    id: z.string().nullish(),
    created_at: z.number().nullish(),
    model: z.string().nullish(),
    status: z.string().nullish(),
    incomplete_details: z.object({ reason: z.string().nullish() }).passthrough().nullish(),
    output: z.array(outputItem).nullish(),
    usage: responsesUsage.nullish(),
  })
  .passthrough();

export type ChatFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

function finishReason(status: string | null | undefined, reason: string | null | undefined, sawToolCall: boolean): ChatFinishReason {
  if (status === 'incomplete') return reason === 'content_filter' ? 'content_filter' : 'length';
  return sawToolCall ? 'tool_calls' : 'stop';
}

/** OpenAI chat usage from Responses usage (counts passed as sent; recordTokens validates them). */
export function chatUsageFrom(u: z.infer<typeof responsesUsage> | null | undefined): Record<string, unknown> | undefined {
  if (!u) return undefined;
  const p = typeof u.input_tokens === 'number' ? u.input_tokens : 0;
  const c = typeof u.output_tokens === 'number' ? u.output_tokens : 0;
  const cached = u.input_tokens_details?.cached_tokens;
  return { prompt_tokens: u.input_tokens, completion_tokens: u.output_tokens, total_tokens: p + c, ...(typeof cached === 'number' ? { prompt_tokens_details: { cached_tokens: cached } } : {}) };
}

/** A Responses answer as a chat completion. */
export function responseToChatCompletion(raw: unknown, requestModel: string, now: () => number = Date.now): Record<string, unknown> {
  const r = responseBody.safeParse(raw);
  const body = r.success ? r.data : { output: [] };
  const texts: string[] = [];
  const reasoning: string[] = [];
  const toolCalls: Array<Record<string, unknown>> = [];
  for (const item of body.output ?? []) {
    if (item.type === 'message' && 'content' in item && Array.isArray(item.content)) {
      for (const c of item.content) {
        const t = outputText.safeParse(c);
        if (t.success) texts.push(t.data.text);
      }
    } else if (item.type === 'function_call' && 'name' in item && typeof item.name === 'string') {
      const callId = 'call_id' in item && typeof item.call_id === 'string' ? item.call_id : 'id' in item && typeof item.id === 'string' ? item.id : randomId('call_');
      const args = 'arguments' in item && typeof item.arguments === 'string' ? item.arguments : '';
      toolCalls.push({ id: callId, type: 'function', function: { name: item.name, arguments: args } });
    } else if (item.type === 'reasoning' && 'summary' in item && Array.isArray(item.summary)) {
      for (const s of item.summary) if (typeof s === 'object' && s !== null && typeof Reflect.get(s, 'text') === 'string') reasoning.push(String(Reflect.get(s, 'text')));
    }
  }
  const message: Record<string, unknown> = { role: 'assistant', content: texts.length > 0 ? texts.join('') : null };
  if (reasoning.length > 0) message.reasoning_content = reasoning.join('\n\n');
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const usage = chatUsageFrom(body.usage);
  return {
    id: body.id ? `chatcmpl-${body.id.replace(/^resp_/, '')}` : randomId('chatcmpl-'),
    object: 'chat.completion',
    created: body.created_at ?? Math.floor(now() / 1000),
    model: body.model || requestModel,
    choices: [{ index: 0, message, finish_reason: finishReason(body.status, body.incomplete_details?.reason, toolCalls.length > 0), logprobs: null }],
    ...(usage ? { usage } : {}),
  };
}

// ---------------------------------------------------------------------------
// Stream

const streamEvent = z
  .object({
    type: z.string(),
    output_index: z.number().int().nullish(),
    item_id: z.string().nullish(),
    delta: z.string().nullish(),
    item: z.object({ type: z.string(), id: z.string().nullish(), call_id: z.string().nullish(), name: z.string().nullish(), arguments: z.string().nullish() }).passthrough().nullish(),
    response: responseBody.nullish(),
    message: z.string().nullish(),
    code: z.string().nullish(),
  })
  .passthrough();

/**
 * Responses events in, chat completion chunks out: text deltas, reasoning
 * summary deltas (as `reasoning_content`), function calls as streamed
 * `tool_calls` (name first, arguments as they arrive), then the finish chunk
 * and, when the client asked, the usage chunk. Tool calls are indexed in the
 * order they start; events are matched to them by `output_index` (Copilot's
 * item ids are not consistent, see ResponsesIdNormalizer).
 */
export class ResponsesToChatStream {
  private id: string | undefined;
  private created: number;
  private model: string;
  private roleSent = false;
  private readonly toolIndexByOutput = new Map<number, number>();
  private readonly argsSeen = new Set<number>();
  private readonly argsWhole = new Set<number>();
  private finished = false;
  usage: Record<string, unknown> | undefined;
  /** Set when Copilot reported a failure in-band (`response.failed`, `error`). */
  failure: string | undefined;

  constructor(private readonly opts: { requestModel: string; clientWantsUsage: boolean; now?: () => number }) {
    this.model = opts.requestModel;
    this.created = Math.floor((opts.now?.() ?? Date.now()) / 1000);
  }

  get done(): boolean {
    return this.finished;
  }

  push(raw: unknown): Record<string, unknown>[] {
    const p = streamEvent.safeParse(raw);
    if (!p.success) return [];
    const ev = p.data;
    switch (ev.type) {
      case 'response.created':
      case 'response.in_progress': {
        if (ev.response?.id) this.id ??= `chatcmpl-${ev.response.id.replace(/^resp_/, '')}`;
        if (ev.response?.created_at) this.created = ev.response.created_at;
        if (ev.response?.model) this.model = ev.response.model;
        return [];
      }
      case 'response.output_text.delta':
        return ev.delta ? [this.chunk({ content: ev.delta })] : [];
      case 'response.reasoning_summary_text.delta':
      case 'response.reasoning_text.delta':
        return ev.delta ? [this.chunk({ reasoning_content: ev.delta })] : [];
      case 'response.output_item.added': {
        if (ev.item?.type !== 'function_call' || ev.output_index == null) return [];
        const index = this.toolIndexByOutput.size;
        this.toolIndexByOutput.set(ev.output_index, index);
        const args = ev.item.arguments ?? '';
        // Arguments already whole in the added item: later deltas would repeat them.
        if (args) this.argsWhole.add(ev.output_index);
        const callId = ev.item.call_id ?? ev.item.id ?? randomId('call_');
        return [this.chunk({ tool_calls: [{ index, id: callId, type: 'function', function: { name: ev.item.name ?? '', arguments: args } }] })];
      }
      case 'response.function_call_arguments.delta': {
        if (ev.output_index == null || !ev.delta || this.argsWhole.has(ev.output_index)) return [];
        const index = this.toolIndexByOutput.get(ev.output_index);
        if (index === undefined) return [];
        this.argsSeen.add(ev.output_index);
        return [this.chunk({ tool_calls: [{ index, function: { arguments: ev.delta } }] })];
      }
      case 'response.output_item.done': {
        // Arguments that came only whole, in the done item, are sent once.
        if (ev.item?.type !== 'function_call' || ev.output_index == null || this.argsSeen.has(ev.output_index) || this.argsWhole.has(ev.output_index)) return [];
        const index = this.toolIndexByOutput.get(ev.output_index);
        this.argsSeen.add(ev.output_index);
        if (index === undefined || !ev.item.arguments) return [];
        return [this.chunk({ tool_calls: [{ index, function: { arguments: ev.item.arguments } }] })];
      }
      case 'response.completed':
      case 'response.incomplete': {
        this.finished = true;
        const out = [this.finishChunk(finishReason(ev.response?.status ?? (ev.type === 'response.incomplete' ? 'incomplete' : 'completed'), ev.response?.incomplete_details?.reason, this.toolIndexByOutput.size > 0))];
        this.usage = chatUsageFrom(ev.response?.usage);
        if (this.opts.clientWantsUsage && this.usage) out.push(this.stamp({ choices: [], usage: this.usage }));
        return out;
      }
      case 'response.failed':
      case 'error': {
        this.finished = true;
        this.failure = ev.message ?? (ev.response ? `Copilot reported the response as failed` : 'Copilot reported an error');
        return [];
      }
      default:
        return [];
    }
  }

  private chunk(delta: Record<string, unknown>): Record<string, unknown> {
    const d = this.roleSent ? delta : { role: 'assistant', ...delta };
    this.roleSent = true;
    return this.stamp({ choices: [{ index: 0, delta: d, finish_reason: null }] });
  }

  private finishChunk(reason: ChatFinishReason): Record<string, unknown> {
    return this.stamp({ choices: [{ index: 0, delta: {}, finish_reason: reason }] });
  }

  private stamp(c: Record<string, unknown>): Record<string, unknown> {
    this.id ??= randomId('chatcmpl-');
    return { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, ...c };
  }
}
