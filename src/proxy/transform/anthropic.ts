import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { mapModel } from './chat.ts';
import { parseOrThrow } from './validate.ts';

/**
 * Pure transforms for the Anthropic Messages API.
 *
 * Models whose Copilot /models entry lists `/v1/messages` are served natively
 * (the body passes through; only the model name is mapped). Every other model
 * is translated: Anthropic request → OpenAI chat request → Copilot
 * /chat/completions → Anthropic response (or, streamed, Anthropic SSE events
 * built by AnthropicStreamTranslator).
 */

// ---------------------------------------------------------------------------
// Requests

/** Lenient shape: enough for routing, billing and the native passthrough. */
const anyBlock = z.object({ type: z.string({ error: 'each content block needs a type' }) }).passthrough();
const anthropicMessage = z
  .object({
    role: z.enum(['user', 'assistant'], { error: 'role must be "user" or "assistant"' }),
    content: z.union([z.string(), z.array(anyBlock)], { error: 'content must be a string or an array of content blocks' }),
  })
  .passthrough();

export const messagesRequestSchema = z
  .object({
    model: z.string({ error: 'Field required' }).min(1, 'model must not be empty'),
    messages: z.array(anthropicMessage, { error: 'Field required' }).min(1, 'messages must not be empty'),
    system: z.union([z.string(), z.array(anyBlock)]).nullish(),
    max_tokens: z.number().int().positive('max_tokens must be a positive integer').nullish(),
    stream: z.boolean().nullish(),
    tools: z.array(z.object({ name: z.string({ error: 'each tool needs a name' }) }).passthrough()).nullish(),
  })
  .passthrough();

export type MessagesRequest = z.infer<typeof messagesRequestSchema>;

/** Strict block shapes, checked only when a request is translated for a chat-completions model. */
const textBlock = z.object({ type: z.literal('text'), text: z.string() }).passthrough();
const imageSource = z.discriminatedUnion('type', [
  z.object({ type: z.literal('base64'), media_type: z.string(), data: z.string() }).passthrough(),
  z.object({ type: z.literal('url'), url: z.string() }).passthrough(),
]);
const imageBlock = z.object({ type: z.literal('image'), source: imageSource }).passthrough();
const toolUseBlock = z.object({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.unknown() }).passthrough();
const toolResultBlock = z
  .object({
    type: z.literal('tool_result'),
    tool_use_id: z.string(),
    content: z.union([z.string(), z.array(z.discriminatedUnion('type', [textBlock, imageBlock]))]).nullish(),
    is_error: z.boolean().nullish(),
  })
  .passthrough();
const thinkingBlock = z.object({ type: z.literal('thinking') }).passthrough();
const redactedThinkingBlock = z.object({ type: z.literal('redacted_thinking') }).passthrough();
const translatableBlock = z.discriminatedUnion('type', [textBlock, imageBlock, toolUseBlock, toolResultBlock, thinkingBlock, redactedThinkingBlock], {
  error: 'this content block type cannot be translated to Chat Completions (supported: text, image, tool_use, tool_result, thinking)',
});

const customTool = z
  .object({
    name: z.string(),
    description: z.string().nullish(),
    input_schema: z.record(z.string(), z.unknown()),
    type: z.union([z.literal('custom'), z.null()]).optional(),
  })
  .passthrough();

const toolChoice = z.discriminatedUnion('type', [
  z.object({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().nullish() }).passthrough(),
  z.object({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().nullish() }).passthrough(),
  z.object({ type: z.literal('tool'), name: z.string(), disable_parallel_tool_use: z.boolean().nullish() }).passthrough(),
  z.object({ type: z.literal('none') }).passthrough(),
]);

export const translatableRequestSchema = messagesRequestSchema.extend({
  messages: z
    .array(z.object({ role: z.enum(['user', 'assistant']), content: z.union([z.string(), z.array(translatableBlock)]) }).passthrough())
    .min(1, 'messages must not be empty'),
  system: z.union([z.string(), z.array(textBlock)]).nullish(),
  tools: z.array(z.union([customTool, z.object({ name: z.string(), type: z.string() }).passthrough()])).nullish(),
  tool_choice: toolChoice.nullish(),
  stop_sequences: z.array(z.string()).nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
});

export type TranslatableRequest = z.infer<typeof translatableRequestSchema>;
type TranslatableBlock = z.infer<typeof translatableBlock>;
type ImageBlock = z.infer<typeof imageBlock>;

export interface PreparedMessages {
  req: MessagesRequest;
  model: string;
  stream: boolean;
  initiator: 'user' | 'agent';
  vision: boolean;
}

export function prepareMessages(body: unknown, modelMap: Record<string, string>): PreparedMessages {
  const req = parseOrThrow(messagesRequestSchema, body);
  return {
    req,
    model: mapModel(req.model, modelMap),
    stream: req.stream === true,
    initiator: anthropicInitiator(req.messages),
    vision: anthropicHasImage(req.messages),
  };
}

function blockType(b: unknown): string | undefined {
  return typeof b === 'object' && b !== null && 'type' in b && typeof b.type === 'string' ? b.type : undefined;
}

/**
 * `user` only for a turn the user typed: the last message is the user's and is
 * not just tool results (those are the agent's loop, which Copilot does not bill).
 */
export function anthropicInitiator(messages: ReadonlyArray<{ role: string; content: unknown }>): 'user' | 'agent' {
  const last = messages.at(-1);
  if (!last || last.role !== 'user') return 'agent';
  if (Array.isArray(last.content) && last.content.length > 0 && last.content.every((b) => blockType(b) === 'tool_result')) return 'agent';
  return 'user';
}

function hasImageIn(content: unknown): boolean {
  if (!Array.isArray(content)) return false;
  return content.some((b: unknown) => {
    const t = blockType(b);
    if (t === 'image') return true;
    return t === 'tool_result' && typeof b === 'object' && b !== null && 'content' in b && hasImageIn(b.content);
  });
}

/** Image blocks anywhere, tool results included: Copilot wants `Copilot-Vision-Request: true`. */
export function anthropicHasImage(messages: ReadonlyArray<{ content: unknown }>): boolean {
  return messages.some((m) => hasImageIn(m.content));
}

// ---------------------------------------------------------------------------
// Anthropic request → OpenAI chat request

type ChatPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };
type ChatMessage = Record<string, unknown>;

function imageUrl(b: ImageBlock): ChatPart {
  const url = b.source.type === 'base64' ? `data:${b.source.media_type};base64,${b.source.data}` : b.source.url;
  return { type: 'image_url', image_url: { url } };
}

/** Text-only part lists become one string (what every chat model accepts); with images, parts stay. */
function userContent(parts: ChatPart[]): string | ChatPart[] {
  if (parts.every((p) => p.type === 'text')) return parts.map((p) => (p.type === 'text' ? p.text : '')).join('\n\n');
  return parts;
}

function toolResultText(content: z.infer<typeof toolResultBlock>['content']): { text: string; images: ChatPart[] } {
  if (content == null) return { text: '', images: [] };
  if (typeof content === 'string') return { text: content, images: [] };
  const texts: string[] = [];
  const images: ChatPart[] = [];
  for (const b of content) {
    if (b.type === 'text') texts.push(b.text);
    else images.push(imageUrl(b));
  }
  return { text: texts.join('\n\n'), images };
}

function userMessages(content: string | TranslatableBlock[]): ChatMessage[] {
  if (typeof content === 'string') return [{ role: 'user', content }];
  const out: ChatMessage[] = [];
  const parts: ChatPart[] = [];
  for (const b of content) {
    switch (b.type) {
      case 'tool_result': {
        // OpenAI wants tool results as `tool` messages right after the assistant's tool_calls.
        const r = toolResultText(b.content);
        out.push({ role: 'tool', tool_call_id: b.tool_use_id, content: b.is_error ? `Error: ${r.text}` : r.text });
        parts.push(...r.images); // `tool` messages cannot hold images: they follow in the user message
        break;
      }
      case 'text':
        parts.push({ type: 'text', text: b.text });
        break;
      case 'image':
        parts.push(imageUrl(b));
        break;
      default:
        break; // thinking blocks and tool_use have no place in a user chat message
    }
  }
  if (parts.length > 0) out.push({ role: 'user', content: userContent(parts) });
  return out;
}

function assistantMessage(content: string | TranslatableBlock[]): ChatMessage {
  if (typeof content === 'string') return { role: 'assistant', content };
  const texts: string[] = [];
  const toolCalls: Record<string, unknown>[] = [];
  for (const b of content) {
    if (b.type === 'text') texts.push(b.text);
    else if (b.type === 'tool_use') toolCalls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
    // thinking / redacted_thinking: the model's own reasoning; Chat Completions has no field for it.
  }
  const msg: ChatMessage = { role: 'assistant', content: texts.length > 0 ? texts.join('\n\n') : null };
  if (toolCalls.length > 0) msg.tool_calls = toolCalls;
  return msg;
}

function systemText(system: TranslatableRequest['system']): string | undefined {
  if (system == null) return undefined;
  const text = typeof system === 'string' ? system : system.map((b) => b.text).join('\n\n');
  return text.length > 0 ? text : undefined;
}

/** The OpenAI chat request for a translated Anthropic request. Server tools (web search etc.) cannot be translated and are left out. */
export function toChatRequest(req: TranslatableRequest, model: string): Record<string, unknown> {
  const messages: ChatMessage[] = [];
  const system = systemText(req.system);
  if (system !== undefined) messages.push({ role: 'system', content: system });
  for (const m of req.messages) {
    if (m.role === 'user') messages.push(...userMessages(m.content));
    else messages.push(assistantMessage(m.content));
  }
  const out: Record<string, unknown> = { model, messages };
  if (req.max_tokens != null) out.max_tokens = req.max_tokens;
  if (req.temperature != null) out.temperature = req.temperature;
  if (req.top_p != null) out.top_p = req.top_p;
  if (req.stop_sequences && req.stop_sequences.length > 0) out.stop = req.stop_sequences;
  const tools = (req.tools ?? []).flatMap((t) => {
    const c = customTool.safeParse(t);
    if (!c.success) return [];
    const fn: Record<string, unknown> = { name: c.data.name, parameters: c.data.input_schema };
    if (c.data.description) fn.description = c.data.description;
    return [{ type: 'function', function: fn }];
  });
  if (tools.length > 0) {
    out.tools = tools;
    const tc = req.tool_choice;
    if (tc) {
      if (tc.type === 'auto') out.tool_choice = 'auto';
      else if (tc.type === 'any') out.tool_choice = 'required';
      else if (tc.type === 'none') out.tool_choice = 'none';
      else out.tool_choice = { type: 'function', function: { name: tc.name } };
      if ('disable_parallel_tool_use' in tc && tc.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
    }
  }
  if (req.stream === true) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  return out;
}

// ---------------------------------------------------------------------------
// OpenAI chat response → Anthropic response

export type AnthropicStopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal';

export function stopReasonOf(finish: string | null | undefined, hadToolUse: boolean): AnthropicStopReason {
  // Copilot's Claude models may end a tool turn with `stop`: the tool calls decide.
  if (hadToolUse && (finish === 'tool_calls' || finish === 'function_call' || finish === 'stop' || finish == null)) return 'tool_use';
  switch (finish) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

const chatUsageSchema = z
  .object({
    prompt_tokens: z.number().nullish(),
    completion_tokens: z.number().nullish(),
    prompt_tokens_details: z.object({ cached_tokens: z.number().nullish() }).passthrough().nullish(),
  })
  .passthrough();

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/** Anthropic counts cache reads apart from input tokens; OpenAI includes them in prompt_tokens. */
export function toAnthropicUsage(raw: unknown): AnthropicUsage {
  const u = chatUsageSchema.safeParse(raw);
  const prompt = (u.success ? u.data.prompt_tokens : undefined) ?? 0;
  const cached = (u.success ? u.data.prompt_tokens_details?.cached_tokens : undefined) ?? 0;
  return {
    input_tokens: Math.max(0, prompt - cached),
    output_tokens: (u.success ? u.data.completion_tokens : undefined) ?? 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

const toolCallSchema = z
  .object({
    index: z.number().int().nullish(),
    id: z.string().nullish(),
    function: z.object({ name: z.string().nullish(), arguments: z.string().nullish() }).passthrough().nullish(),
  })
  .passthrough();

const completionSchema = z
  .object({
    id: z.string().nullish(),
    choices: z
      .array(
        z
          .object({
            message: z.object({ content: z.string().nullish(), tool_calls: z.array(toolCallSchema).nullish() }).passthrough().nullish(),
            finish_reason: z.string().nullish(),
          })
          .passthrough(),
      )
      .nullish(),
    usage: z.unknown().optional(),
  })
  .passthrough();

function parseToolInput(args: string | null | undefined): Record<string, unknown> {
  if (!args) return {};
  try {
    const v: unknown = JSON.parse(args);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v)) : {};
  } catch {
    return {}; // a model that wrote broken JSON: the tool gets no arguments rather than the request failing
  }
}

export function newMessageId(): string {
  return `msg_${randomBytes(12).toString('hex')}`;
}

function newToolUseId(): string {
  return `toolu_${randomBytes(12).toString('hex')}`;
}

export type AnthropicContentBlock = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

export interface AnthropicMessageResponse {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: AnthropicContentBlock[];
  stop_reason: AnthropicStopReason;
  stop_sequence: null;
  usage: AnthropicUsage;
}

/**
 * Non-stream: a chat completion as an Anthropic message. Copilot may split a
 * Claude answer over several choices (text in one, tool calls in another), so
 * every choice is read.
 */
export function fromChatCompletion(raw: unknown, model: string, newId: () => string = newMessageId): AnthropicMessageResponse {
  const parsed = completionSchema.safeParse(raw);
  const r = parsed.success ? parsed.data : { choices: [], usage: undefined };
  const content: AnthropicContentBlock[] = [];
  let finish: string | null | undefined;
  for (const choice of r.choices ?? []) {
    const msg = choice.message;
    if (msg?.content) content.push({ type: 'text', text: msg.content });
    for (const tc of msg?.tool_calls ?? []) {
      content.push({ type: 'tool_use', id: tc.id || newToolUseId(), name: tc.function?.name ?? '', input: parseToolInput(tc.function?.arguments) });
    }
    finish = choice.finish_reason ?? finish;
  }
  const hadToolUse = content.some((b) => b.type === 'tool_use');
  return {
    id: newId(),
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stopReasonOf(finish, hadToolUse),
    stop_sequence: null,
    usage: toAnthropicUsage(r.usage),
  };
}

// ---------------------------------------------------------------------------
// OpenAI chat stream → Anthropic stream

export interface AnthropicEvent {
  event: string;
  data: Record<string, unknown>;
}

const chunkSchema = z
  .object({
    choices: z
      .array(
        z
          .object({
            index: z.number().int().nullish(),
            delta: z.object({ content: z.string().nullish(), tool_calls: z.array(toolCallSchema).nullish() }).passthrough().nullish(),
            finish_reason: z.string().nullish(),
          })
          .passthrough(),
      )
      .nullish(),
    usage: z.unknown().optional(),
  })
  .passthrough();

/**
 * Turns Copilot's chat-completion chunks into Anthropic's stream:
 * `message_start`, then per block `content_block_start` / `content_block_delta`
 * (`text_delta` or `input_json_delta`) / `content_block_stop`, then
 * `message_delta` (stop_reason + usage) and `message_stop` from finish().
 * Usage arrives last (finish chunk or a trailing empty-choices chunk), which
 * is why the closing events wait for finish().
 */
export class AnthropicStreamTranslator {
  private started = false;
  private nextIndex = 0;
  private open: { kind: 'text' | 'tool'; index: number } | undefined;
  private readonly toolBlocks = new Map<string, number>();
  private finishReason: string | null | undefined;
  private rawUsage: unknown;
  private readonly id: string;
  /** True once a chunk carried a finish_reason. */
  sawFinish = false;

  constructor(private readonly opts: { model: string; newId?: () => string; newToolId?: () => string }) {
    this.id = (opts.newId ?? newMessageId)();
  }

  get usage(): AnthropicUsage {
    return toAnthropicUsage(this.rawUsage);
  }

  /** One upstream chunk (JSON-parsed) in; zero or more Anthropic events out. */
  push(raw: unknown): AnthropicEvent[] {
    const parsed = chunkSchema.safeParse(raw);
    if (!parsed.success) return [];
    const out: AnthropicEvent[] = [];
    this.start(out);
    if (parsed.data.usage != null) this.rawUsage = parsed.data.usage; // may sit in a chunk with empty choices
    for (const choice of parsed.data.choices ?? []) {
      const delta = choice.delta;
      if (delta?.content) {
        if (this.open?.kind !== 'text') {
          this.close(out);
          this.open = { kind: 'text', index: this.nextIndex++ };
          out.push({ event: 'content_block_start', data: { type: 'content_block_start', index: this.open.index, content_block: { type: 'text', text: '' } } });
        }
        out.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index: this.open.index, delta: { type: 'text_delta', text: delta.content } } });
      }
      for (const tc of delta?.tool_calls ?? []) {
        const key = `${choice.index ?? 0}:${tc.index ?? 0}`;
        let index = this.toolBlocks.get(key);
        if (index === undefined) {
          this.close(out);
          index = this.nextIndex++;
          this.toolBlocks.set(key, index);
          this.open = { kind: 'tool', index };
          const id = tc.id || (this.opts.newToolId ?? newToolUseId)();
          out.push({
            event: 'content_block_start',
            data: { type: 'content_block_start', index, content_block: { type: 'tool_use', id, name: tc.function?.name ?? '', input: {} } },
          });
        }
        const args = tc.function?.arguments;
        if (args) out.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: args } } });
      }
      if (choice.finish_reason) {
        this.finishReason = choice.finish_reason;
        this.sawFinish = true;
      }
    }
    return out;
  }

  /** Upstream ended: close the open block, then message_delta and message_stop. */
  finish(): AnthropicEvent[] {
    const out: AnthropicEvent[] = [];
    this.start(out);
    this.close(out);
    const usage = this.usage;
    out.push({
      event: 'message_delta',
      data: {
        type: 'message_delta',
        delta: { stop_reason: stopReasonOf(this.finishReason, this.toolBlocks.size > 0), stop_sequence: null },
        usage: { input_tokens: usage.input_tokens, output_tokens: usage.output_tokens, cache_read_input_tokens: usage.cache_read_input_tokens },
      },
    });
    out.push({ event: 'message_stop', data: { type: 'message_stop' } });
    return out;
  }

  private start(out: AnthropicEvent[]): void {
    if (this.started) return;
    this.started = true;
    out.push({
      event: 'message_start',
      data: {
        type: 'message_start',
        message: {
          id: this.id,
          type: 'message',
          role: 'assistant',
          model: this.opts.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          // Copilot reports usage only at the end; message_delta carries the real numbers.
          usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
        },
      },
    });
  }

  private close(out: AnthropicEvent[]): void {
    if (!this.open) return;
    out.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index: this.open.index } });
    this.open = undefined;
  }
}

// ---------------------------------------------------------------------------
// Native stream bookkeeping

const nativeEventSchema = z
  .object({
    type: z.string(),
    message: z.object({ usage: z.object({ input_tokens: z.number().nullish(), output_tokens: z.number().nullish() }).passthrough().nullish() }).passthrough().optional(),
    usage: z.object({ input_tokens: z.number().nullish(), output_tokens: z.number().nullish() }).passthrough().nullish(),
  })
  .passthrough();

/** Watches a native Anthropic stream as it is relayed: usage for the request log, and whether it really ended. */
export class NativeStreamWatcher {
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  sawStop = false;
  sawError = false;

  push(data: unknown): void {
    const p = nativeEventSchema.safeParse(data);
    if (!p.success) return;
    const e = p.data;
    if (e.type === 'message_start') {
      this.inputTokens = e.message?.usage?.input_tokens ?? this.inputTokens;
      this.outputTokens = e.message?.usage?.output_tokens ?? this.outputTokens;
    } else if (e.type === 'message_delta') {
      this.inputTokens = e.usage?.input_tokens ?? this.inputTokens;
      this.outputTokens = e.usage?.output_tokens ?? this.outputTokens;
    } else if (e.type === 'message_stop') this.sawStop = true;
    else if (e.type === 'error') this.sawError = true;
  }
}

// ---------------------------------------------------------------------------
// count_tokens

/** A typical image costs Anthropic (w·h)/750 tokens, capped near 1,600 by its resizing: the cap is our estimate. */
export const IMAGE_TOKEN_ESTIMATE = 1600;

function blockChars(b: unknown, images: { n: number }): number {
  if (typeof b === 'string') return b.length;
  if (typeof b !== 'object' || b === null) return 0;
  const type = blockType(b);
  if (type === 'image') {
    images.n += 1;
    return 0;
  }
  if (type === 'text' && 'text' in b && typeof b.text === 'string') return b.text.length;
  if (type === 'thinking' && 'thinking' in b && typeof b.thinking === 'string') return b.thinking.length;
  if (type === 'tool_use' && 'input' in b) return ('name' in b && typeof b.name === 'string' ? b.name.length : 0) + JSON.stringify(b.input ?? {}).length;
  if (type === 'tool_result' && 'content' in b) {
    const c = b.content;
    if (typeof c === 'string') return c.length;
    if (Array.isArray(c)) return c.reduce((n: number, x: unknown) => n + blockChars(x, images), 0);
    return 0;
  }
  return JSON.stringify(b).length;
}

/**
 * An estimate, not Anthropic's tokenizer: about four characters per token over
 * every text the model sees (system, messages, tool calls and results, tool
 * definitions), plus a flat IMAGE_TOKEN_ESTIMATE per image.
 */
export function estimateInputTokens(req: MessagesRequest): number {
  const images = { n: 0 };
  let chars = 0;
  if (typeof req.system === 'string') chars += req.system.length;
  else for (const b of req.system ?? []) chars += blockChars(b, images);
  for (const m of req.messages) {
    chars += typeof m.content === 'string' ? m.content.length : m.content.reduce((n, b) => n + blockChars(b, images), 0);
  }
  for (const t of req.tools ?? []) {
    const { name, ...rest } = t;
    chars += name.length + JSON.stringify(rest).length;
  }
  return Math.ceil(chars / 4) + images.n * IMAGE_TOKEN_ESTIMATE;
}
