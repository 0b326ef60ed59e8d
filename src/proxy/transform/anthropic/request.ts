import * as z from 'zod';
import { MAX_MESSAGES, tokenLimit } from '../chat.ts';
import { parseOrThrow } from '../validate.ts';

/**
 * Anthropic Messages requests: the lenient shape every path reads (routing,
 * billing, the native passthrough), and the strict shape a request must have
 * to be translated to Chat Completions (toChatRequest). Pure.
 */


/** Roles accepted in `messages`: Claude Code (2.1+, beta `mid-conversation-system-2026-04-07`) puts `system` entries there too. */
export const MESSAGE_ROLES = ['user', 'assistant', 'system'] as const;

/** Says which value was refused, not only what is allowed. */
const roleError = (iss: { input?: unknown }) =>
  `role ${JSON.stringify(iss.input) ?? 'missing'} is not accepted (use ${MESSAGE_ROLES.map((r) => JSON.stringify(r)).join(', ')})`;

/** Lenient shape: enough for routing, billing and the native passthrough. */
const anyBlock = z.object({ type: z.string({ error: 'each content block needs a type' }) }).passthrough();
const anthropicMessage = z
  .object({
    role: z.enum(MESSAGE_ROLES, { error: roleError }),
    content: z.union([z.string(), z.array(anyBlock)], { error: 'content must be a string or an array of content blocks' }),
  })
  .passthrough();

export const messagesRequestSchema = z
  .object({
    model: z.string({ error: 'Field required' }).min(1, 'model must not be empty'),
    messages: z.array(anthropicMessage, { error: 'Field required' }).min(1, 'messages must not be empty').max(MAX_MESSAGES, `messages: at most ${MAX_MESSAGES} per request`),
    system: z.union([z.string(), z.array(anyBlock)]).nullish(),
    max_tokens: tokenLimit('max_tokens'),
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
const thinkingBlock = z.object({ type: z.literal('thinking'), thinking: z.string().nullish(), signature: z.string().nullish() }).passthrough();
const redactedThinkingBlock = z.object({ type: z.literal('redacted_thinking') }).passthrough();
const translatableBlock = z.discriminatedUnion('type', [textBlock, imageBlock, toolUseBlock, toolResultBlock, thinkingBlock, redactedThinkingBlock], {
  error: (iss) => {
    const type = typeof iss.input === 'object' && iss.input !== null && 'type' in iss.input ? JSON.stringify(iss.input.type) : 'this';
    return `content block type ${type} cannot be translated to Chat Completions (supported: text, image, tool_use, tool_result, thinking)`;
  },
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
    .array(
      z.discriminatedUnion('role', [
        z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(translatableBlock)]) }).passthrough(),
        z.object({ role: z.literal('assistant'), content: z.union([z.string(), z.array(translatableBlock)]) }).passthrough(),
        z.object({ role: z.literal('system'), content: z.union([z.string(), z.array(textBlock)], { error: 'a system message holds a string or text blocks' }) }).passthrough(),
      ]),
    )
    .min(1, 'messages must not be empty')
    .max(MAX_MESSAGES, `messages: at most ${MAX_MESSAGES} per request`),
  system: z.union([z.string(), z.array(textBlock)]).nullish(),
  tools: z.array(z.union([customTool, z.object({ name: z.string(), type: z.string() }).passthrough()])).nullish(),
  tool_choice: toolChoice.nullish(),
  stop_sequences: z.array(z.string()).nullish(),
  thinking: z.object({ type: z.string(), budget_tokens: z.number().nullish() }).passthrough().nullish(),
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

export function prepareMessages(body: unknown): PreparedMessages {
  const req = parseOrThrow(messagesRequestSchema, body);
  return {
    req,
    model: req.model,
    stream: req.stream === true,
    initiator: anthropicInitiator(req.messages),
    vision: anthropicHasImage(req.messages),
  };
}

export function blockType(b: unknown): string | undefined {
  return typeof b === 'object' && b !== null && 'type' in b && typeof b.type === 'string' ? b.type : undefined;
}

/**
 * `user` only for a turn the user typed: the last message is the user's and is
 * not just tool results (those are the agent's loop, which Copilot does not bill).
 */
export function anthropicInitiator(messages: ReadonlyArray<{ role: string; content: unknown }>): 'user' | 'agent' {
  // System entries inside `messages` are instructions, not turns: the last turn decides.
  const last = messages.findLast((m) => m.role !== 'system');
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
// System messages inside `messages`, folded for an upstream that refuses them

type LooseMessage = MessagesRequest['messages'][number];

type LooseBlock = Exclude<LooseMessage['content'], string>[number];

function blocksOf(content: LooseMessage['content']): LooseBlock[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content.map((b) => ({ ...b }));
}

function textOfSystem(content: LooseMessage['content']): string {
  if (typeof content === 'string') return content;
  return content.map((b) => (b.type === 'text' && typeof b.text === 'string' ? b.text : '')).filter(Boolean).join('\n\n');
}

/**
 * `block` at the start of a user turn, but after its `tool_result` blocks: Anthropic answers 400
 * when a turn that follows `tool_use` does not begin with the results ("Did not find 1
 * `tool_result` block(s) at the beginning of this message", anthropics/claude-code#37).
 */
function afterToolResults(blocks: LooseBlock[], block: LooseBlock): LooseBlock[] {
  const at = blocks.findIndex((b) => b.type !== 'tool_result');
  const cut = at < 0 ? blocks.length : at;
  return [...blocks.slice(0, cut), block, ...blocks.slice(cut)];
}

/**
 * Every `role: "system"` entry of `messages` folded into the neighbouring user
 * turn as a text block `<system>…</system>`: the next user message (at its
 * start, after any tool results), or, when none follows, the previous one (at its end); with no user
 * message at all it becomes one. Roles then alternate as Anthropic requires.
 */
export function foldSystemMessages(messages: readonly LooseMessage[]): LooseMessage[] {
  const out: Array<{ role: 'user' | 'assistant' | 'system'; content: LooseMessage['content'] }> = messages.map((m) => ({ ...m }));
  for (let i = 0; i < out.length; i++) {
    const m = out[i];
    if (!m || m.role !== 'system') continue;
    const block = { type: 'text', text: `<system>\n${textOfSystem(m.content)}\n</system>` };
    const next = out.findIndex((x, j) => j > i && x.role === 'user');
    const prev = out.findLastIndex((x, j) => j < i && x.role === 'user');
    const target = next >= 0 ? next : prev;
    const t = target >= 0 ? out[target] : undefined;
    if (t) t.content = target === next ? afterToolResults(blocksOf(t.content), block) : [...blocksOf(t.content), block];
    else out.push({ role: 'user', content: [block] });
    out.splice(i, 1);
    i -= 1;
  }
  return out.map((m) => ({ ...m }));
}

/** Whether the request carries system entries inside `messages`. */
export function hasSystemMessages(messages: ReadonlyArray<{ role: string }>): boolean {
  return messages.some((m) => m.role === 'system');
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
  const thoughts: string[] = [];
  let signature: string | undefined;
  const toolCalls: Record<string, unknown>[] = [];
  for (const b of content) {
    if (b.type === 'text') texts.push(b.text);
    else if (b.type === 'tool_use') toolCalls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
    else if (b.type === 'thinking') {
      if (b.thinking) thoughts.push(b.thinking);
      signature ??= b.signature || undefined;
    }
    // redacted_thinking is left out: its `data` is Anthropic's encrypted reasoning, not the signature
    // Copilot's `reasoning_opaque` carries, and peers drop it too (caozhiyuan/copilot-api
    // src/routes/messages/non-stream-translation.ts handles only `thinking` blocks).
  }
  const msg: ChatMessage = { role: 'assistant', content: texts.length > 0 ? texts.join('\n\n') : null };
  // Copilot's chat takes Claude's reasoning back as reasoning_text + reasoning_opaque (the signature),
  // one per message, as it sends them (same mapping: caozhiyuan/copilot-api non-stream-translation.ts).
  if (thoughts.length > 0) msg.reasoning_text = thoughts.join('\n\n');
  if (signature !== undefined) msg.reasoning_opaque = signature;
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
    else if (m.role === 'system') {
      // In place, where the client put it (Claude Code's mid-conversation system messages).
      const text = systemText(m.content);
      if (text !== undefined) messages.push({ role: 'system', content: text });
    } else messages.push(assistantMessage(m.content));
  }
  const out: Record<string, unknown> = { model, messages };
  if (req.max_tokens != null) out.max_tokens = req.max_tokens;
  if (req.temperature != null) out.temperature = req.temperature;
  if (req.top_p != null) out.top_p = req.top_p;
  if (req.stop_sequences && req.stop_sequences.length > 0) out.stop = req.stop_sequences;
  // Copilot's chat takes Claude's thinking budget as `thinking_budget` (caozhiyuan/copilot-api sends it so).
  if (req.thinking?.type === 'enabled' && req.thinking.budget_tokens != null) out.thinking_budget = req.thinking.budget_tokens;
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

