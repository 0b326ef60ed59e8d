import { randomBytes } from 'node:crypto';
import * as z from 'zod';

/** A chat completion (Copilot /chat/completions) as an Anthropic message. Pure. */

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

export const toolCallSchema = z
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
            message: z
              .object({ content: z.string().nullish(), tool_calls: z.array(toolCallSchema).nullish(), reasoning_text: z.string().nullish(), reasoning_opaque: z.string().nullish() })
              .passthrough()
              .nullish(),
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

export function newToolUseId(): string {
  return `toolu_${randomBytes(12).toString('hex')}`;
}

export type AnthropicContentBlock =
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

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
  const thinking: AnthropicContentBlock[] = [];
  let finish: string | null | undefined;
  for (const choice of r.choices ?? []) {
    const msg = choice.message;
    // Claude's reasoning (reasoning_text, signature in reasoning_opaque): a thinking block, which
    // Anthropic puts before the text and tool calls; the client sends it back with the signature.
    if (msg?.reasoning_text || msg?.reasoning_opaque) thinking.push({ type: 'thinking', thinking: msg.reasoning_text ?? '', signature: msg.reasoning_opaque ?? '' });
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
    content: [...thinking, ...content],
    stop_reason: stopReasonOf(finish, hadToolUse),
    stop_sequence: null,
    usage: toAnthropicUsage(r.usage),
  };
}

