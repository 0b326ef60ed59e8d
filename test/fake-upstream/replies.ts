// Deterministic model behaviour and the response bodies of the Copilot API routes.
// Pure functions: the server in index.ts decides auth, faults and delivery.

import { randomBytes, createHash } from 'node:crypto';
import { arr, bool, isRecord, rec, str } from './guards.ts';
import { SSE_DONE, sseData, sseEvent } from './sse.ts';
import { chatToolResultError, toolResultOrderError } from './strict.ts';

// ---------------------------------------------------------------------------
// Conversation model shared by the three chat-like APIs

export interface Conversation {
  lastRole: string;
  /** Text of the last message whose role is `user` (tool results excluded). */
  lastUserText: string;
  /** Set when the last message is a tool result. */
  toolResult?: string;
  hasImage: boolean;
  hasTools: boolean;
  /** The tools the client offered: name and the property names of its parameters schema. */
  tools: ToolDef[];
  /** Every user text, in order (agents put their environment and the prompt in separate user messages). */
  userTexts: string[];
  /** Every text seen, for the deterministic token count. */
  texts: string[];
  messageCount: number;
  /** The request asked the model to think (`thinking_budget` or `reasoning_effort`): the answer carries reasoning. */
  wantsReasoning?: boolean;
  /** `reasoning_opaque` values the client sent back on assistant messages. */
  opaquesBack?: string[];
}

export type Outcome =
  | { kind: 'text'; text: string }
  | { kind: 'tool'; name: string; args: string };

export interface ToolDef {
  name: string;
  /** Property names of the parameters schema (`properties`). */
  props: string[];
  /** Whether `command` (or `cmd`) is an array of strings rather than one string. */
  commandIsArray: boolean;
}

export const TOOL_NAME = 'get_weather';
export const TOOL_ARGS = '{"city":"Paris"}';
/** `create the file /abs/path containing "text"`: the fake answers with the client's own file-writing tool. */
export const WRITE_DIRECTIVE = /\bcreate the file (\S+) containing \\?"([^"\\]*)\\?"/i; // opencode run quotes (and escapes) a prompt with spaces
export const WRITE_DONE = 'The file is written.';

/** The prompt WRITE_DIRECTIVE answers: a real client asked this writes `text` to `filePath` with its own tool. */
export function writePrompt(filePath: string, text: string): string {
  return `create the file ${filePath} containing "${text}"`;
}

/**
 * A call of the client's own tool that writes `content` to `path`, with
 * arguments valid for that tool's schema: a write tool (`file_path`/`filePath`/
 * `path` + `content`: Claude Code's Write, opencode's write), else a shell tool
 * (`command`/`cmd`, a string or an argv array: Codex's shell tools).
 */
export function writeCall(tools: readonly ToolDef[], path: string, content: string): Outcome | undefined {
  const write = tools.find((t) => t.props.includes('content') && ['file_path', 'filePath', 'path'].some((k) => t.props.includes(k)));
  if (write) {
    const key = ['file_path', 'filePath', 'path'].find((k) => write.props.includes(k)) ?? 'path';
    return { kind: 'tool', name: write.name, args: JSON.stringify({ [key]: path, content }) };
  }
  const shell = tools.find((t) => t.props.includes('command') || t.props.includes('cmd'));
  if (shell) {
    const script = `printf '%s' '${content.replace(/'/g, `'\\''`)}' > '${path}'`;
    const key = shell.props.includes('command') ? 'command' : 'cmd';
    return { kind: 'tool', name: shell.name, args: JSON.stringify({ [key]: shell.commandIsArray ? ['bash', '-lc', script] : script }) };
  }
  return undefined;
}

/** Tool definitions as Chat Completions (`function.parameters`), Responses (`parameters`) or Anthropic (`input_schema`) send them. */
export function toolDefs(tools: unknown[] | undefined): ToolDef[] {
  return (tools ?? []).flatMap((t): ToolDef[] => {
    const fn = rec(t, 'function');
    const name = str(fn, 'name') ?? str(t, 'name');
    if (name === undefined) return [];
    const schema = rec(fn, 'parameters') ?? rec(t, 'parameters') ?? rec(t, 'input_schema');
    const props = rec(schema, 'properties');
    const command = rec(props, 'command') ?? rec(props, 'cmd');
    return [{ name, props: props ? Object.keys(props) : [], commandIsArray: str(command, 'type') === 'array' }];
  });
}

export function decide(c: Conversation): Outcome {
  const write = c.userTexts.map((t) => WRITE_DIRECTIVE.exec(t)).find((m) => m !== null);
  if (c.toolResult !== undefined) {
    // One tool round, then an answer: a real client's agent loop ends here.
    if (write) return { kind: 'text', text: WRITE_DONE };
    return { kind: 'text', text: `The weather is ${c.toolResult}` };
  }
  if (c.hasTools && c.lastRole === 'user' && write) {
    const call = writeCall(c.tools, write[1] ?? '', write[2] ?? '');
    if (call) return call;
  }
  if (c.hasTools && c.lastRole === 'user' && /weather/i.test(c.lastUserText)) {
    return { kind: 'tool', name: TOOL_NAME, args: TOOL_ARGS };
  }
  if (c.hasImage) return { kind: 'text', text: 'I see an image' };
  return { kind: 'text', text: `Echo: ${c.lastUserText}` };
}

export function countTokens(s: string): number {
  return s.length === 0 ? 0 : Math.ceil(s.length / 4);
}

export function promptTokens(c: Conversation): number {
  return c.texts.reduce((n, t) => n + countTokens(t), 0) + 4 * c.messageCount + 3;
}

export function completionTokens(o: Outcome): number {
  return o.kind === 'text' ? splitWords(o.text).length : countTokens(o.name) + countTokens(o.args) + 4;
}

/**
 * Input tokens Copilot read from its prompt cache: every message but the last was seen on the
 * turn before (an agent's growing conversation), so from the third message on that prefix is cached.
 */
export function cachedTokens(c: Conversation): number {
  if (c.messageCount < 3) return 0;
  return Math.min(promptTokens(c), c.texts.slice(0, -1).reduce((n, t) => n + countTokens(t), 0));
}

export interface TokenCounts {
  /** All input tokens, cached ones included. */
  input: number;
  cached: number;
  output: number;
}

export function tokenCounts(c: Conversation, o: Outcome): TokenCounts {
  return { input: promptTokens(c), cached: cachedTokens(c), output: completionTokens(o) };
}

/**
 * The fake's prices in nano-AIU per million tokens (1e9 nano-AIU = 1 AI credit = $0.01), in the
 * shape Copilot sends them: claude-haiku-4.5's, from a recorded `copilot_usage` (test/fixtures/README.md).
 */
export const FAKE_PRICES = { input: 100_000_000_000, cache_read: 10_000_000_000, cache_write: 125_000_000_000, output: 500_000_000_000 } as const;
const BATCH = 1_000_000;

function tokenDetails(t: TokenCounts): Array<{ batch_size: number; cost_per_batch: number; token_count: number; token_type: string }> {
  return [
    { batch_size: BATCH, cost_per_batch: FAKE_PRICES.input, token_count: t.input - t.cached, token_type: 'input' },
    { batch_size: BATCH, cost_per_batch: FAKE_PRICES.cache_read, token_count: t.cached, token_type: 'cache_read' },
    { batch_size: BATCH, cost_per_batch: FAKE_PRICES.cache_write, token_count: 0, token_type: 'cache_write' },
    { batch_size: BATCH, cost_per_batch: FAKE_PRICES.output, token_count: t.output, token_type: 'output' },
  ];
}

/** Σ token_count × cost_per_batch / batch_size, as Copilot totals it (whole nano-AIU). */
export function nanoAiuFor(t: TokenCounts): number {
  return tokenDetails(t).reduce((n, d) => n + Math.round((d.token_count * d.cost_per_batch) / d.batch_size), 0);
}

/**
 * Copilot's per-answer charge since the June 2026 switch to AI credits: `{token_details, total_nano_aiu}`,
 * a sibling of `usage` (test/fixtures/README.md says where each route carries it, and from which recording).
 */
export function copilotUsage(t: TokenCounts): Record<string, unknown> {
  return { token_details: tokenDetails(t), total_nano_aiu: nanoAiuFor(t) };
}

/** "Echo: hi there" → ["Echo:", " hi", " there"] (concatenates back to the input). */
export function splitWords(text: string): string[] {
  const parts = text.split(/(?= )/);
  return parts.length === 0 ? [''] : parts;
}

/** Argument fragments of the streamed tool call. */
export function splitArgs(args: string): string[] {
  const mid = Math.ceil(args.length / 2);
  return [args.slice(0, mid), args.slice(mid)];
}

export function randomId(prefix: string, bytes = 12): string {
  return prefix + randomBytes(bytes).toString('base64url').replace(/[-_]/g, 'x');
}

function newConversation(): Conversation {
  return { lastRole: '', lastUserText: '', hasImage: false, hasTools: false, tools: [], userTexts: [], texts: [], messageCount: 0 };
}

/** Text of a content value: a string, or an array of typed parts. Flags images. */
function contentText(content: unknown, onImage: () => void): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const out: string[] = [];
  for (const part of content) {
    if (typeof part === 'string') {
      out.push(part);
      continue;
    }
    const type = str(part, 'type');
    if (type === 'image_url' || type === 'input_image' || type === 'image') {
      onImage();
      continue;
    }
    const t = str(part, 'text');
    if (t !== undefined) out.push(t);
    else if (type === 'tool_result') out.push(contentText(isRecord(part) ? part['content'] : undefined, onImage));
  }
  return out.join('');
}

// ---------------------------------------------------------------------------
// Request parsing (each returns an error message string when the body is unusable)

export interface ChatRequest {
  model: string;
  stream: boolean;
  includeUsage: boolean;
  conv: Conversation;
}

export function parseChatRequest(body: unknown): ChatRequest | string {
  if (!isRecord(body)) return 'request body must be a JSON object';
  const model = str(body, 'model');
  if (model === undefined || model === '') return 'model is required';
  const messages = arr(body, 'messages');
  if (messages === undefined || messages.length === 0) return 'messages is required';
  const toolOrder = chatToolResultError(model, messages);
  if (toolOrder !== undefined) return toolOrder;
  const conv = newConversation();
  const tools = arr(body, 'tools');
  conv.hasTools = tools !== undefined && tools.length > 0;
  conv.tools = toolDefs(tools);
  const markImage = (): void => {
    conv.hasImage = true;
  };
  for (const m of messages) {
    const role = str(m, 'role');
    if (role === undefined) return 'each message needs a role';
    const text = contentText(isRecord(m) ? m['content'] : undefined, markImage);
    conv.texts.push(text);
    conv.messageCount++;
    // System and developer messages are instructions, not turns (agents put them anywhere).
    if (role !== 'system' && role !== 'developer') conv.lastRole = role;
    if (role === 'user') {
      conv.lastUserText = text;
      conv.userTexts.push(text);
    }
  }
  if (conv.lastRole === 'tool') conv.toolResult = conv.texts[conv.texts.length - 1] ?? '';
  const budget = body['thinking_budget'];
  conv.wantsReasoning = (typeof budget === 'number' && budget > 0) || typeof body['reasoning_effort'] === 'string';
  conv.opaquesBack = messages.flatMap((m) => {
    const o = str(m, 'reasoning_opaque');
    return str(m, 'role') === 'assistant' && o !== undefined ? [o] : [];
  });
  const streamOptions = rec(body, 'stream_options');
  return {
    model,
    stream: bool(body, 'stream') === true,
    includeUsage: bool(streamOptions, 'include_usage') === true,
    conv,
  };
}

export interface ResponsesRequest {
  model: string;
  stream: boolean;
  conv: Conversation;
}

export function parseResponsesRequest(body: unknown): ResponsesRequest | string {
  if (!isRecord(body)) return 'request body must be a JSON object';
  const model = str(body, 'model');
  if (model === undefined || model === '') return 'model is required';
  const conv = newConversation();
  const tools = arr(body, 'tools');
  conv.hasTools = tools !== undefined && tools.length > 0;
  conv.tools = toolDefs(tools);
  const markImage = (): void => {
    conv.hasImage = true;
  };
  const instructions = str(body, 'instructions');
  if (instructions !== undefined) conv.texts.push(instructions);
  const input = body['input'];
  if (typeof input === 'string') {
    conv.texts.push(input);
    conv.messageCount = 1;
    conv.lastRole = 'user';
    conv.lastUserText = input;
    conv.userTexts.push(input);
  } else if (Array.isArray(input)) {
    for (const item of input) {
      const type = str(item, 'type');
      if (type !== undefined && type.endsWith('_call_output')) {
        // function_call_output, custom_tool_call_output, local_shell_call_output
        const o = isRecord(item) ? item['output'] : undefined;
        const output = typeof o === 'string' ? o : JSON.stringify(o ?? '');
        conv.texts.push(output);
        conv.messageCount++;
        conv.lastRole = 'tool';
        conv.toolResult = output;
        continue;
      }
      if (type !== undefined && type !== 'message' && (type.endsWith('_call') || type === 'reasoning')) {
        conv.messageCount++;
        conv.lastRole = 'assistant';
        conv.toolResult = undefined;
        continue;
      }
      const role = str(item, 'role');
      if (role === undefined) return 'each input item needs a role or a known type';
      const text = contentText(isRecord(item) ? item['content'] : undefined, markImage);
      conv.texts.push(text);
      conv.messageCount++;
      if (role === 'system' || role === 'developer') continue; // instructions, not turns
      conv.lastRole = role;
      conv.toolResult = undefined;
      if (role === 'user') {
        conv.lastUserText = text;
        conv.userTexts.push(text);
      }
    }
  } else {
    return 'input is required';
  }
  return { model, stream: bool(body, 'stream') === true, conv };
}

export interface MessagesRequest {
  model: string;
  stream: boolean;
  conv: Conversation;
}

/**
 * `acceptSystemRole`: whether `role: "system"` inside `messages` is taken (the
 * mid-conversation-system beta). Anthropic's API refuses it otherwise with
 * `messages.N.role: Input should be 'user' or 'assistant'`; whether Copilot's
 * /v1/messages takes it is not known, so the fake can play both.
 */
export function parseMessagesRequest(body: unknown, acceptSystemRole = false): MessagesRequest | string {
  if (!isRecord(body)) return 'request body must be a JSON object';
  const model = str(body, 'model');
  if (model === undefined || model === '') return 'model: Field required';
  const messages = arr(body, 'messages');
  if (messages === undefined || messages.length === 0) return 'messages: Field required';
  const toolOrder = toolResultOrderError(messages);
  if (toolOrder !== undefined) return toolOrder;
  const conv = newConversation();
  const tools = arr(body, 'tools');
  conv.hasTools = tools !== undefined && tools.length > 0;
  conv.tools = toolDefs(tools);
  const markImage = (): void => {
    conv.hasImage = true;
  };
  const system = body['system'];
  if (system !== undefined) conv.texts.push(contentText(system, markImage));
  for (const [i, m] of messages.entries()) {
    const role = str(m, 'role');
    if (role === undefined) return 'messages: each message needs a role';
    const content = isRecord(m) ? m['content'] : undefined;
    if (role === 'system') {
      if (!acceptSystemRole) return `messages.${i}.role: Input should be 'user' or 'assistant'`;
      conv.texts.push(contentText(content, markImage));
      continue;
    }
    if (role !== 'user' && role !== 'assistant') return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    const text = contentText(content, markImage);
    conv.texts.push(text);
    conv.messageCount++;
    conv.lastRole = role;
    conv.toolResult = undefined;
    const toolResults = Array.isArray(content) ? content.filter((b) => str(b, 'type') === 'tool_result') : [];
    if (role === 'user' && toolResults.length > 0) {
      conv.lastRole = 'tool';
      conv.toolResult = toolResults.map((b) => contentText(isRecord(b) ? b['content'] : undefined, markImage)).join('');
    } else if (role === 'user') {
      conv.lastUserText = text;
      conv.userTexts.push(text);
    }
  }
  return { model, stream: bool(body, 'stream') === true, conv };
}

// ---------------------------------------------------------------------------
// Chat Completions bodies (Copilot flavour: no `object` field, filter results, model = version)

function filterResults(): Record<string, unknown> {
  const safe = { filtered: false, severity: 'safe' };
  return { hate: safe, self_harm: safe, sexual: safe, violence: safe };
}

function promptFilterResults(): unknown[] {
  return [{ content_filter_results: filterResults(), prompt_index: 0 }];
}

export interface ChatUsage {
  completion_tokens: number;
  completion_tokens_details: { accepted_prediction_tokens: number; rejected_prediction_tokens: number };
  prompt_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  total_tokens: number;
}

export function chatUsage(c: Conversation, o: Outcome): ChatUsage {
  const t = tokenCounts(c, o);
  return {
    completion_tokens: t.output,
    completion_tokens_details: { accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    prompt_tokens: t.input,
    prompt_tokens_details: { cached_tokens: t.cached },
    total_tokens: t.input + t.output,
  };
}

/**
 * What a thinking model says of its reasoning on /chat/completions: `reasoning_text`, and
 * `reasoning_opaque` (the signature that must come back on the next turn). Recorded on Gemini 3
 * streams (OpenCode's Copilot fixtures, Dec 2025; test/fixtures/copilot/); VS Code Copilot Chat and
 * OpenCode read and send back the same two fields for Claude. The opaque value is derived from the text.
 */
export function reasoningOf(c: Conversation): { text: string; opaque: string } {
  const text = `Thinking about: ${c.lastUserText.slice(0, 80)}`;
  return { text, opaque: `rsn_${createHash('sha256').update(text).digest('base64url').slice(0, 32)}` };
}

export interface ChatMeta {
  id: string;
  created: number;
  /** The model string Copilot answers with (the version, e.g. gpt-4.1-2025-04-14). */
  model: string;
  fingerprint: string;
  toolCallId: string;
}

export function newChatMeta(model: string, nowMs: number): ChatMeta {
  return {
    id: randomId('chatcmpl-', 21),
    created: Math.floor(nowMs / 1000),
    model,
    fingerprint: `fp_${randomBytes(5).toString('hex')}`,
    toolCallId: randomId('call_', 18),
  };
}

export function chatCompletionBody(meta: ChatMeta, c: Conversation, o: Outcome): Record<string, unknown> {
  const reasoning = c.wantsReasoning ? reasoningOf(c) : undefined;
  const message: Record<string, unknown> = {
    ...(o.kind === 'text'
      ? { content: o.text, role: 'assistant' }
      : {
          content: null,
          role: 'assistant',
          tool_calls: [{ function: { arguments: o.args, name: o.name }, id: meta.toolCallId, type: 'function' }],
        }),
    ...(reasoning ? { reasoning_text: reasoning.text, reasoning_opaque: reasoning.opaque } : {}),
  };
  return {
    choices: [
      {
        content_filter_results: filterResults(),
        finish_reason: o.kind === 'text' ? 'stop' : 'tool_calls',
        index: 0,
        message,
      },
    ],
    created: meta.created,
    id: meta.id,
    model: meta.model,
    prompt_filter_results: promptFilterResults(),
    system_fingerprint: meta.fingerprint,
    usage: chatUsage(c, o),
    copilot_usage: copilotUsage(tokenCounts(c, o)),
  };
}

export interface ChatStreamOptions {
  includeUsage: boolean;
  usageInFinishChunk: boolean;
  /** Keys laid over the usage object (tests of bad upstream numbers: `"12"`, -1, 1e999). */
  usagePatch?: Record<string, unknown> | null;
}

/** The SSE events of a streamed chat completion, in order, `[DONE]` included. */
export function chatStreamEvents(meta: ChatMeta, c: Conversation, o: Outcome, opts: ChatStreamOptions): string[] {
  const events: string[] = [];
  // Quirk 1: an empty-choices chunk with only prompt filter results, no model, id "" and created 0.
  events.push(sseData({ choices: [], created: 0, id: '', prompt_filter_results: promptFilterResults() }));
  const envelope = (choices: unknown[], extra: Record<string, unknown> = {}): string =>
    sseData({ choices, created: meta.created, id: meta.id, model: meta.model, system_fingerprint: meta.fingerprint, ...extra });
  let offset = 0;
  const choice = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    index: 0,
    content_filter_offsets: { check_offset: 0, start_offset: 0, end_offset: offset },
    content_filter_results: { error: { code: '', message: '' }, ...filterResults() },
    delta,
    ...extra,
  });
  // Reasoning first: reasoning_text deltas, then reasoning_opaque on the next chunk (as recorded).
  const reasoning = c.wantsReasoning ? reasoningOf(c) : undefined;
  if (reasoning) for (const w of splitWords(reasoning.text)) events.push(envelope([choice({ content: null, role: 'assistant', reasoning_text: w })]));
  const opaque = reasoning ? { reasoning_opaque: reasoning.opaque } : {};
  if (o.kind === 'text') {
    events.push(envelope([choice({ content: '', role: 'assistant', ...opaque })]));
    for (const w of splitWords(o.text)) {
      offset += w.length;
      events.push(envelope([choice({ content: w })]));
    }
  } else {
    events.push(
      envelope([
        choice({
          content: null,
          role: 'assistant',
          tool_calls: [{ function: { arguments: '', name: o.name }, id: meta.toolCallId, index: 0, type: 'function' }],
          ...opaque,
        }),
      ]),
    );
    for (const frag of splitArgs(o.args)) {
      events.push(envelope([choice({ content: null, tool_calls: [{ function: { arguments: frag }, index: 0 }] })]));
    }
  }
  const usage = { ...chatUsage(c, o), ...(opts.usagePatch ?? {}) };
  const charge = { copilot_usage: copilotUsage(tokenCounts(c, o)) };
  const finish = choice({ content: null }, { finish_reason: o.kind === 'text' ? 'stop' : 'tool_calls' });
  // The charge rides with the usage, in the finish chunk or the trailing one; without include_usage, on the finish chunk.
  events.push(envelope([finish], opts.usageInFinishChunk ? { usage, ...charge } : opts.includeUsage ? {} : charge));
  // Quirk 2: usage in a trailing chunk whose choices are empty.
  if (opts.includeUsage && !opts.usageInFinishChunk) events.push(envelope([], { usage, ...charge }));
  events.push(SSE_DONE);
  return events;
}

// ---------------------------------------------------------------------------
// Responses API bodies

function responsesUsage(c: Conversation, o: Outcome): Record<string, unknown> {
  const t = tokenCounts(c, o);
  return {
    input_tokens: t.input,
    input_tokens_details: { cached_tokens: t.cached },
    output_tokens: t.output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: t.input + t.output,
  };
}

function outputItem(o: Outcome, itemId: string, callId: string, status: 'in_progress' | 'completed'): Record<string, unknown> {
  if (o.kind === 'tool') {
    return { type: 'function_call', id: itemId, call_id: callId, name: o.name, arguments: status === 'completed' ? o.args : '', status };
  }
  return {
    type: 'message',
    id: itemId,
    status,
    role: 'assistant',
    content: status === 'completed' ? [{ type: 'output_text', text: o.text, annotations: [], logprobs: [] }] : [],
  };
}

function responseObject(
  id: string,
  model: string,
  createdAt: number,
  status: 'in_progress' | 'completed',
  output: unknown[],
  usage: unknown,
): Record<string, unknown> {
  return {
    id,
    object: 'response',
    created_at: createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: null,
    max_output_tokens: null,
    model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: 1,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage,
    user: null,
    metadata: {},
  };
}

export function responsesBody(model: string, nowMs: number, c: Conversation, o: Outcome): Record<string, unknown> {
  const item = outputItem(o, randomId(o.kind === 'text' ? 'msg_' : 'fc_', 24), randomId('call_', 18), 'completed');
  return { ...responseObject(randomId('resp_', 24), model, Math.floor(nowMs / 1000), 'completed', [item], responsesUsage(c, o)), copilot_usage: copilotUsage(tokenCounts(c, o)) };
}

/**
 * Streamed Responses events. Copilot quirk (reproduced unless `stableIds`): the item id in
 * `output_item.done` and in `response.completed` differs from the one in `output_item.added`.
 */
export function responsesStreamEvents(model: string, nowMs: number, c: Conversation, o: Outcome, stableIds: boolean): string[] {
  const respId = randomId('resp_', 24);
  const createdAt = Math.floor(nowMs / 1000);
  const prefix = o.kind === 'text' ? 'msg_' : 'fc_';
  const addedId = randomId(prefix, 24);
  const doneId = stableIds ? addedId : randomId(prefix, 24);
  const completedId = stableIds ? addedId : randomId(prefix, 24);
  const callId = randomId('call_', 18);
  let seq = 0;
  const ev = (type: string, payload: Record<string, unknown>): string => sseEvent(type, { type, sequence_number: seq++, ...payload });
  const events: string[] = [];
  events.push(ev('response.created', { response: responseObject(respId, model, createdAt, 'in_progress', [], null) }));
  events.push(ev('response.in_progress', { response: responseObject(respId, model, createdAt, 'in_progress', [], null) }));
  events.push(ev('response.output_item.added', { output_index: 0, item: outputItem(o, addedId, callId, 'in_progress') }));
  if (o.kind === 'text') {
    const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
    events.push(ev('response.content_part.added', { item_id: addedId, output_index: 0, content_index: 0, part }));
    for (const w of splitWords(o.text)) {
      events.push(ev('response.output_text.delta', { item_id: addedId, output_index: 0, content_index: 0, delta: w, logprobs: [] }));
    }
    events.push(ev('response.output_text.done', { item_id: addedId, output_index: 0, content_index: 0, text: o.text, logprobs: [] }));
    events.push(
      ev('response.content_part.done', { item_id: addedId, output_index: 0, content_index: 0, part: { ...part, text: o.text } }),
    );
  } else {
    for (const frag of splitArgs(o.args)) {
      events.push(ev('response.function_call_arguments.delta', { item_id: addedId, output_index: 0, delta: frag }));
    }
    events.push(ev('response.function_call_arguments.done', { item_id: addedId, output_index: 0, arguments: o.args }));
  }
  events.push(ev('response.output_item.done', { output_index: 0, item: outputItem(o, doneId, callId, 'completed') }));
  events.push(
    // The charge rides at the top of the terminal event, beside `response` (caozhiyuan/copilot-api PR 294 reads it there).
    ev('response.completed', {
      response: responseObject(respId, model, createdAt, 'completed', [outputItem(o, completedId, callId, 'completed')], responsesUsage(c, o)),
      copilot_usage: copilotUsage(tokenCounts(c, o)),
    }),
  );
  return events;
}

// ---------------------------------------------------------------------------
// Anthropic Messages bodies

/** Anthropic counts cache reads apart: input_tokens is the uncached part. */
function anthropicUsage(c: Conversation, o: Outcome): Record<string, unknown> {
  const t = tokenCounts(c, o);
  return {
    input_tokens: t.input - t.cached,
    output_tokens: t.output,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: t.cached,
  };
}

function anthropicBlock(o: Outcome, toolId: string): Record<string, unknown> {
  return o.kind === 'text'
    ? { type: 'text', text: o.text }
    : { type: 'tool_use', id: toolId, name: o.name, input: JSON.parse(o.args) as unknown };
}

export function messagesBody(model: string, c: Conversation, o: Outcome): Record<string, unknown> {
  return {
    id: randomId('msg_', 18),
    type: 'message',
    role: 'assistant',
    model,
    content: [anthropicBlock(o, randomId('toolu_', 18))],
    stop_reason: o.kind === 'text' ? 'end_turn' : 'tool_use',
    stop_sequence: null,
    usage: anthropicUsage(c, o),
    copilot_usage: copilotUsage(tokenCounts(c, o)),
  };
}

export function messagesStreamEvents(model: string, c: Conversation, o: Outcome): string[] {
  const events: string[] = [];
  const ev = (type: string, payload: Record<string, unknown>): void => {
    events.push(sseEvent(type, { type, ...payload }));
  };
  ev('message_start', {
    message: {
      id: randomId('msg_', 18),
      type: 'message',
      role: 'assistant',
      model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...anthropicUsage(c, o), output_tokens: 1 },
    },
  });
  if (o.kind === 'text') {
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    ev('ping', {});
    for (const w of splitWords(o.text)) ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: w } });
  } else {
    ev('content_block_start', { index: 0, content_block: { type: 'tool_use', id: randomId('toolu_', 18), name: o.name, input: {} } });
    ev('ping', {});
    for (const frag of splitArgs(o.args)) ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: frag } });
  }
  ev('content_block_stop', { index: 0 });
  ev('message_delta', {
    delta: { stop_reason: o.kind === 'text' ? 'end_turn' : 'tool_use', stop_sequence: null },
    usage: { output_tokens: completionTokens(o) },
    copilot_usage: copilotUsage(tokenCounts(c, o)),
  });
  ev('message_stop', {});
  return events;
}

// ---------------------------------------------------------------------------
// Embeddings

export const EMBEDDING_DIMS = 8;

/** Unit-length 8-dim vector derived from sha256(text): same text, same vector. */
export function embed(text: string): number[] {
  const h = createHash('sha256').update(text).digest();
  const v: number[] = [];
  for (let i = 0; i < EMBEDDING_DIMS; i++) v.push((h.readUInt16BE(i * 2) - 32768) / 32768);
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => Math.round((x / norm) * 1e6) / 1e6);
}

export function parseEmbeddingsInput(body: unknown): { model: string; inputs: string[]; base64: boolean } | string {
  if (!isRecord(body)) return 'request body must be a JSON object';
  const model = str(body, 'model');
  if (model === undefined || model === '') return 'model is required';
  const format = str(body, 'encoding_format') ?? 'float';
  if (format !== 'float' && format !== 'base64') return 'encoding_format must be float or base64';
  const base64 = format === 'base64';
  const input = body['input'];
  if (typeof input === 'string') return { model, inputs: [input], base64 };
  if (Array.isArray(input) && input.length > 0 && input.every((x): x is string => typeof x === 'string')) {
    return { model, inputs: input, base64 };
  }
  return 'input must be a string or an array of strings';
}

/** OpenAI's base64 encoding: little-endian float32 values. */
function float32Base64(v: number[]): string {
  const buf = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => buf.writeFloatLE(x, i * 4));
  return buf.toString('base64');
}

export function embeddingsBody(model: string, inputs: string[], base64 = false): Record<string, unknown> {
  const tokens = inputs.reduce((n, t) => n + countTokens(t), 0);
  return {
    object: 'list',
    data: inputs.map((t, index) => ({ object: 'embedding', index, embedding: base64 ? float32Base64(embed(t)) : embed(t) })),
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
