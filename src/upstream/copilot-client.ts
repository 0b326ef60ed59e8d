import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { requestVia } from './request.ts';
import * as z from 'zod';
import type { CopilotAuth } from './token-source.ts';
import { UpstreamHttpError } from '../errors.ts';
import { readJsonBody } from './body.ts';
import { parseRetryAfter, toTransportError } from './transport-errors.ts';
import { UsageLimitError, usageLimitOf } from './usage-limit.ts';
import { DEFAULT_EDITOR_IDENTITY, type EditorIdentity } from '../config/editor-identity.ts';
import { GITHUB_API_VERSION, editorHeaders } from './editor-headers.ts';

/** One function per Copilot endpoint. No retries here: callers compose them. */

export interface CopilotCallOptions {
  auth: CopilotAuth;
  requestId?: string;
  /** `user` only when the last message is the user's: it decides premium-request billing. */
  initiator?: 'user' | 'agent';
  vision?: boolean;
  stream?: boolean;
  signal?: AbortSignal;
  /** Extra headers (e.g. anthropic-version for /v1/messages). */
  extraHeaders?: Record<string, string>;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

export function copilotHeaders(opts: CopilotCallOptions, id: EditorIdentity = DEFAULT_EDITOR_IDENTITY): Record<string, string> {
  const h: Record<string, string> = {
    authorization: `Bearer ${opts.auth.token}`,
    'copilot-integration-id': id.copilot_integration_id,
    ...editorHeaders(id),
    'openai-intent': id.openai_intent,
    'x-github-api-version': GITHUB_API_VERSION,
    'x-request-id': opts.requestId ?? randomUUID(),
    accept: opts.stream ? 'text/event-stream' : 'application/json',
  };
  if (opts.initiator) h['x-initiator'] = opts.initiator;
  if (opts.vision) h['copilot-vision-request'] = 'true';
  return { ...h, ...opts.extraHeaders };
}

// Copilot's /models entry. Only what we read is required; everything else passes through.
export const copilotModelSchema = z
  .object({
    id: z.string(),
    name: z.string().optional(),
    object: z.string().optional(),
    vendor: z.string().optional(),
    version: z.string().optional(),
    preview: z.boolean().optional(),
    model_picker_enabled: z.boolean().optional(),
    model_picker_category: z.string().optional(),
    is_chat_default: z.boolean().optional(),
    policy: z.object({ state: z.string(), terms: z.string().optional() }).passthrough().optional(),
    supported_endpoints: z.array(z.string()).optional(),
    billing: z
      .object({ is_premium: z.boolean().optional(), multiplier: z.number().optional() })
      .passthrough()
      .optional(),
    capabilities: z
      .object({
        family: z.string().optional(),
        type: z.string().optional(),
        tokenizer: z.string().optional(),
        limits: z
          .object({
            max_context_window_tokens: z.number().optional(),
            max_output_tokens: z.number().optional(),
            max_prompt_tokens: z.number().optional(),
          })
          .passthrough()
          .optional(),
        supports: z
          .object({
            streaming: z.boolean().optional(),
            tool_calls: z.boolean().optional(),
            parallel_tool_calls: z.boolean().optional(),
            vision: z.boolean().optional(),
            structured_outputs: z.boolean().optional(),
            // Claude models: the thinking budget Copilot accepts (budget_tokens is clamped to it).
            min_thinking_budget: z.number().optional(),
            max_thinking_budget: z.number().optional(),
            adaptive_thinking: z.boolean().optional(),
            /** The `reasoning_effort` values the model takes; absent: it takes none. */
            reasoning_effort: z.array(z.string()).optional(),
          })
          .passthrough()
          .optional(),
      })
      .passthrough()
      .optional(),
  })
  .passthrough();

export type CopilotModel = z.infer<typeof copilotModelSchema>;

const modelListSchema = z.object({ data: z.array(copilotModelSchema) }).passthrough();

/** The Copilot API bound to one connection pool and one editor identity (config `headers`). */
export interface CopilotClient {
  listModels(opts: CopilotCallOptions): Promise<CopilotModel[]>;
  createChatCompletion(body: unknown, opts: CopilotCallOptions): Promise<UpstreamResponse>;
  createEmbeddings(body: unknown, opts: CopilotCallOptions): Promise<UpstreamResponse>;
  createResponse(body: unknown, opts: CopilotCallOptions): Promise<UpstreamResponse>;
  createMessages(body: unknown, opts: CopilotCallOptions): Promise<UpstreamResponse>;
}

export function createCopilotClient(
  dispatcher: Dispatcher,
  identity: EditorIdentity = DEFAULT_EDITOR_IDENTITY,
  /** Sees every Copilot answer's headers (the quota snapshot). */
  onHeaders?: (headers: Record<string, string | string[] | undefined>) => void,
): CopilotClient {
  const post = (path: string) => async (body: unknown, opts: CopilotCallOptions) => {
    const res = await send(dispatcher, 'POST', path, JSON.stringify(body), opts, identity);
    onHeaders?.(res.headers);
    return res;
  };
  return {
    listModels: (opts) => listModels(dispatcher, opts, identity),
    createChatCompletion: post('/chat/completions'),
    createEmbeddings: post('/embeddings'),
    createResponse: post('/responses'),
    createMessages: post('/v1/messages'),
  };
}

export async function listModels(dispatcher: Dispatcher, opts: CopilotCallOptions, identity?: EditorIdentity): Promise<CopilotModel[]> {
  const res = await send(dispatcher, 'GET', '/models', undefined, opts, identity);
  const json = await readJsonBody(res, '/models', opts.signal);
  const parsed = modelListSchema.safeParse(json);
  if (!parsed.success) throw new UpstreamHttpError(502, `Copilot /models returned an unexpected shape: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data.data;
}

async function send(
  dispatcher: Dispatcher,
  method: 'GET' | 'POST',
  path: string,
  body: string | undefined,
  opts: CopilotCallOptions,
  identity?: EditorIdentity,
): Promise<UpstreamResponse> {
  const headers = copilotHeaders(opts, identity);
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Dispatcher.ResponseData;
  try {
    res = await requestVia(dispatcher, `${opts.auth.apiBase}${path}`, { method, headers, body, signal: opts.signal });
  } catch (err) {
    throw toTransportError(err, { what: path, signal: opts.signal, phase: 'request' });
  }
  if (res.statusCode >= 400) {
    const text = await res.body.text().catch(() => '');
    throw upstreamError(res.statusCode, text, res.headers);
  }
  return { status: res.statusCode, headers: res.headers, body: res.body };
}

const openAiErrorBody = z.object({ error: z.object({ message: z.string(), code: z.string().nullish() }) });
const messageBody = z.object({ message: z.string() });
const stringErrorBody = z.object({ error: z.string() });

/**
 * Upstream errors keep their status; the message is the upstream's text, never JSON-in-a-string.
 * A 429 that names Copilot's weekly or session limit is a UsageLimitError: not retried (usage-limit.ts).
 */
export function upstreamError(status: number, text: string, headers: Record<string, string | string[] | undefined>, now: number = Date.now()): UpstreamHttpError | UsageLimitError {
  let message = text.trim();
  let code: string | undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined; // plain-text body, e.g. "unauthorized: token expired"
  }
  const a = openAiErrorBody.safeParse(json);
  const b = messageBody.safeParse(json);
  const c = stringErrorBody.safeParse(json);
  if (a.success) {
    message = a.data.error.message;
    code = a.data.error.code ?? undefined;
  } else if (b.success) message = b.data.message;
  else if (c.success) message = c.data.error;
  if (!message) message = `Copilot returned HTTP ${status}`;
  const retryAfterSec = parseRetryAfter(headers['retry-after']);
  const reset = headers['x-ratelimit-reset'];
  const limit = usageLimitOf({ status, code, message, retryAfterSec, resetHeader: typeof reset === 'string' ? reset : undefined }, now);
  if (limit) return new UsageLimitError(limit, now);
  return new UpstreamHttpError(status, message.slice(0, 2000), { upstreamCode: code, retryAfterSec });
}
