import http from 'node:http';
import { MIMEType } from 'node:util';
import type { RequestLogFields } from './middleware/request-log.ts';
import type { Reservation } from './middleware/body-budget.ts';

/**
 * The proxy's request and response: Node's own, with the few helpers the
 * routes use (#22: node:http dispatch, no framework on the hot path). Node
 * builds them (`http.createServer({ IncomingMessage, ServerResponse })`), so
 * the helpers live on the prototype: nothing is added to each request.
 */
export class ProxyRequest extends http.IncomingMessage {
  /** A server's request always has both (Node types them for client responses too). */
  declare method: string;
  declare url: string;
  /** The parsed JSON body (middleware/json.ts); undefined when the route takes none. */
  body: unknown = undefined;
  /** The route's path parameters (routes/table.ts), a `*rest` joined back with `/`. */
  params: Readonly<Record<string, string>> = {};
  private queryCache: URLSearchParams | undefined;

  /** The path as sent, without the query: never decoded. */
  get path(): string {
    const url = this.url;
    const q = url.indexOf('?');
    return q < 0 ? url : url.slice(0, q);
  }

  /** The request target as sent (path and query). */
  get originalUrl(): string {
    return this.url;
  }

  /** The query string's parameters. */
  get query(): URLSearchParams {
    if (this.queryCache === undefined) {
      const url = this.url;
      const q = url.indexOf('?');
      this.queryCache = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    }
    return this.queryCache;
  }

  /** A request header, repeated ones joined. */
  get(name: string): string | undefined {
    const v = this.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : v;
  }

  /** Is the body one of these media types (`application/json`, or a `+json` suffix)? False without a Content-Type. */
  is(types: readonly string[]): boolean {
    return mediaTypeMatches(this.headers['content-type'], types);
  }
}

/** Pure: does a Content-Type name one of `types` (a full `type/subtype`, or a `+suffix`)? Parameters are ignored. */
export function mediaTypeMatches(contentType: string | undefined, types: readonly string[]): boolean {
  if (contentType === undefined) return false;
  let essence: string;
  try {
    essence = new MIMEType(contentType).essence;
  } catch {
    return false;
  }
  return types.some((t) => (t.startsWith('+') ? essence.endsWith(t) : essence === t));
}

/** What a request's layers leave for the ones after them (the request log reads both). */
export interface ResponseLocals {
  req?: RequestLogFields;
  /** The error code the answer carried, for the log line. */
  errorCode?: string;
  /** The body budget's hold on this request's body (body-budget.ts), shrunk by the body parser once it has read it. */
  bodyHeld?: Pick<Reservation, 'shrinkTo'>;
}

export class ProxyResponse extends http.ServerResponse<ProxyRequest> {
  readonly locals: ResponseLocals = {};

  status(code: number): this {
    this.statusCode = code;
    return this;
  }

  /** Sets headers (a name and value, or several at once). */
  set(field: string | Readonly<Record<string, string>>, value?: string): this {
    if (typeof field === 'string') {
      if (value !== undefined) this.setHeader(field, value);
    } else for (const [k, v] of Object.entries(field)) this.setHeader(k, v);
    return this;
  }

  /** Answers `body` as JSON (Content-Type and Content-Length set; no body for HEAD, as Node does). */
  json(body: unknown): this {
    return this.text(JSON.stringify(body) ?? 'null', this.getHeader('content-type')?.toString() ?? 'application/json; charset=utf-8');
  }

  /** Answers `body` with this Content-Type, and its Content-Length. */
  text(body: string, contentType: string): this {
    this.setHeader('content-type', contentType);
    this.setHeader('content-length', Buffer.byteLength(body));
    this.end(body);
    return this;
  }
}

export type Request = ProxyRequest;
export type Response = ProxyResponse;
export type NextFunction = (err?: unknown) => void;
/** One layer or route handler: calls `next` (or throws, or rejects) unless it answered. */
export type RequestHandler = (req: Request, res: Response, next: NextFunction) => unknown;
export type ErrorRequestHandler = (err: unknown, req: Request, res: Response, next: NextFunction) => unknown;
/** The server's listener: what `createApp` returns. */
export type RequestListener = (req: Request, res: Response) => void;

export type ProxyServer = http.Server<typeof ProxyRequest, typeof ProxyResponse>;

/** An HTTP server that builds ProxyRequest and ProxyResponse. */
export function createHttpServer(listener: RequestListener, opts: { connectionsCheckingInterval?: number } = {}): ProxyServer {
  // requireHostHeader off: Node would answer a missing Host with an empty 400; the Host check
  // answers it instead, in the caller's error shape (src/proxy/middleware/security.ts).
  return http.createServer({ IncomingMessage: ProxyRequest, ServerResponse: ProxyResponse, requireHostHeader: false, ...opts }, listener);
}

/**
 * How much of a body left unread by an answer (a 413, a 401, a 429...) is
 * read and dropped after it: at most `bytes`, for at most `ms`.
 */
export interface DrainLimits {
  bytes: number;
  ms: number;
}

/** Marks a socket whose answer went out while drainUnread reads the rest of its request. */
const DRAINING = Symbol('answered, body draining');

/**
 * Whether this socket's request was answered already and only its body is
 * still being read: a client error then (Node's server_read timeout, a bad
 * chunk) must close it with no second answer (client-error.ts).
 */
export function isDraining(socket: object): boolean {
  // The request's own state, not the 'end' event: on a kept-alive connection the next request can be
  // parsed (and fail) in the same read that completed this body, before 'end' is emitted.
  const req: unknown = Reflect.get(socket, DRAINING);
  return req instanceof http.IncomingMessage && !req.complete && !req.destroyed;
}

/**
 * After an answer sent before the request's body was all read: read the rest
 * and drop it, so a client still sending (the OpenAI and Anthropic SDKs send
 * the whole body before they read) gets that answer, not a reset. Closing at
 * once with the body still coming makes the kernel reset the connection, and
 * the SDKs then report "Connection error" (and retry the whole body). Past
 * `limits` the connection is cut, so a client cannot hold it by sending forever.
 */
export function drainUnread(req: http.IncomingMessage, limits: DrainLimits): void {
  const { socket } = req;
  if (req.complete || req.destroyed || isDraining(socket)) return;
  let read = 0;
  Reflect.set(socket, DRAINING, req);
  const stop = () => {
    clearTimeout(timer);
    req.off('data', onData);
    if (Reflect.get(socket, DRAINING) === req) Reflect.deleteProperty(socket, DRAINING);
  };
  const cut = () => {
    stop();
    req.destroy();
  };
  const onData = (chunk: Buffer) => {
    read += chunk.length;
    if (read > limits.bytes) cut();
  };
  const timer = setTimeout(cut, limits.ms);
  timer.unref();
  req.on('data', onData);
  req.once('end', stop);
  req.once('close', stop);
}
