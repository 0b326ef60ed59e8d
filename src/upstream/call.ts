import { UpstreamMalformedError } from '../errors.ts';
import { readJsonBody } from './body.ts';
import type { CopilotCallOptions, UpstreamResponse } from './copilot-client.ts';
import type { CopilotGateway } from './gateway.ts';

/** What a Copilot call gives a route: a parsed JSON body, or an event stream (still unread). */
export type CopilotResult = { kind: 'json'; json: unknown; headers: UpstreamResponse['headers'] } | (UpstreamResponse & { kind: 'stream' });

/**
 * The one upstream read path for every route: calls a Copilot endpoint through
 * the gateway (breaker, limiter, retries, 401 refresh) and, for a JSON answer,
 * reads the whole body inside that same call, so a body cut short or gone
 * silent is a typed error that is retried like a failure before the headers
 * (nothing went to the client yet). A stream resolves at its headers and holds
 * its concurrency slot until its body closes.
 */
export async function callCopilot(
  gateway: CopilotGateway,
  opts: {
    what: string;
    /** The Copilot path, for error messages (`/chat/completions`). */
    path: string;
    signal: AbortSignal | undefined;
    stream: boolean;
    /** timeouts.stream_idle, for the message of a body gone silent. */
    idleSec?: number;
    /** timeouts.first_byte in ms: the longest silence inside a non-stream answer's body. */
    quietMs?: number;
    /** What every Copilot call carries besides auth and signal (request id, initiator, vision, extra headers). */
    call: Omit<CopilotCallOptions, 'auth' | 'signal' | 'stream'>;
  },
  send: (options: CopilotCallOptions) => Promise<UpstreamResponse>,
): Promise<CopilotResult> {
  return gateway.call(opts.what, opts.signal, async (auth, sig): Promise<CopilotResult> => {
    const up = await send({ ...opts.call, auth, signal: sig, stream: opts.stream });
    const contentType = String(up.headers['content-type'] ?? '');
    if (opts.stream && contentType.includes('text/event-stream')) return { ...up, kind: 'stream' };
    const json = await readJsonBody(up, opts.path, sig, opts.idleSec, opts.quietMs);
    const problem = answerProblem(opts.path, json, opts.stream);
    if (problem) throw new UpstreamMalformedError(`Copilot ${opts.path} answered 200 with ${problem}`);
    return { kind: 'json', json, headers: up.headers };
  });
}

/** The list each endpoint's answer must carry, non-empty where an empty one means "no answer", and whether each item names its `type`. */
const ANSWER_SHAPE: ReadonlyMap<string, { key: string; nonEmpty: boolean; typed: boolean }> = new Map([
  ['/chat/completions', { key: 'choices', nonEmpty: true, typed: false }],
  ['/responses', { key: 'output', nonEmpty: false, typed: true }],
  ['/embeddings', { key: 'data', nonEmpty: true, typed: false }],
  ['/v1/messages', { key: 'content', nonEmpty: false, typed: true }],
]);

/**
 * What is wrong with a 200's JSON body, or null when a client can use it: an
 * object holding the endpoint's list (`choices` with at least one, `output`,
 * `data`, `content`), and not JSON where a stream was asked for. Pure.
 */
export function answerProblem(path: string, json: unknown, stream: boolean): string | null {
  if (stream) return 'JSON to a stream request (no text/event-stream)';
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return `${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json} instead of an object`;
  const shape = ANSWER_SHAPE.get(path);
  if (!shape) return null;
  const list: unknown = Object.hasOwn(json, shape.key) ? Reflect.get(json, shape.key) : undefined;
  if (!Array.isArray(list)) return `no ${shape.key} list`;
  if (shape.nonEmpty && list.length === 0) return `an empty ${shape.key} list`;
  // Each item is an object (`[null]` is no answer), and a content block or output item says its type.
  const { typed } = shape;
  const bad = list.findIndex((item: unknown) => typeof item !== 'object' || item === null || Array.isArray(item) || (typed && !(Object.hasOwn(item, 'type') && typeof Reflect.get(item, 'type') === 'string')));
  if (bad >= 0) return `${shape.key}[${bad}] that is not ${typed ? 'an object with a type' : 'an object'}`;
  // A chat completion's first choice must carry its message: `{"choices":[{}]}` is no answer either.
  if (path === '/chat/completions') {
    const first: unknown = list[0];
    const message = typeof first === 'object' && first !== null && Object.hasOwn(first, 'message') ? Reflect.get(first, 'message') : undefined;
    if (typeof message !== 'object' || message === null) return 'a choice without a message';
    // `{"choices":[{"message":{}}]}`: no text, no tool call and no finish_reason in any choice is no answer
    // (translated for /v1/messages it was a 200 with empty content). An empty text that finished is one.
    if (!list.some(saysSomething)) return 'choices that carry no content, no tool call and no finish_reason';
  }
  return null;
}

/** Whether a chat choice carries an answer: message text (empty included), at least one tool call, or a finish_reason. Pure. */
function saysSomething(choice: unknown): boolean {
  if (typeof choice !== 'object' || choice === null) return false;
  const get = (o: object, k: string): unknown => (Object.hasOwn(o, k) ? Reflect.get(o, k) : undefined);
  const finish = get(choice, 'finish_reason');
  if (typeof finish === 'string' && finish !== '') return true;
  const message = get(choice, 'message');
  if (typeof message !== 'object' || message === null) return false;
  const calls = get(message, 'tool_calls');
  return typeof get(message, 'content') === 'string' || (Array.isArray(calls) && calls.length > 0);
}
