import http from 'node:http';
import type { Duplex } from 'node:stream';
import { isDraining, type ProxyServer } from '../http.ts';
import { shapeFor } from '../routes/table.ts';
import { eitherErrorBody, errorBody, type ErrorPayload } from './errors.ts';

/**
 * Requests that never reach the app (Node's HTTP parser refuses them: random
 * bytes, oversized headers, a bad method or chunk) and CONNECT, which Node
 * hands to a 'connect' listener or drops silently. They still get a 4xx in the
 * caller's error shape, then the connection is closed.
 */

/** Status and message for an llhttp / server error code. */
export function clientErrorPayload(code: string | undefined): ErrorPayload {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'Request headers are too large', code: 'headers_too_large', param: null };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, message: 'Chunk extensions are too large', code: 'request_too_large', param: null };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'The request took too long to arrive', code: 'request_timeout', param: null };
    case 'HPE_INVALID_METHOD':
      return { status: 400, message: 'Unsupported or malformed HTTP method', code: 'invalid_method', param: null };
    default:
      return { status: 400, message: 'Malformed HTTP request', code: 'bad_request', param: null };
  }
}

/**
 * The path of a raw request line, when one can be read (picks the error shape). Long headers
 * can come in more than one read, and the packet that failed is only the last of them.
 */
export function pathFromRaw(raw: Buffer | undefined): string | undefined {
  if (!raw) return undefined;
  // Printable ASCII only: a control byte in the target ends the path (it is what made the parser fail).
  const head = /^[A-Za-z]{1,20} (\/[!->@-~]*)/.exec(raw.subarray(0, 2048).toString('latin1'));
  if (head?.[1] !== undefined) return head[1];
  // On a kept-alive connection the packet can start with the end of the last request's body
  // (one read took both, with no line break between): the first whole request line in it.
  const later = /[A-Z]{3,7} (\/[!->@-~]*)(?:\?[!-~]*)? HTTP\/1\.[01]\r?\n/.exec(raw.subarray(0, 256 * 1024).toString('latin1'));
  return later?.[1];
}

/** The headers of every answer given outside the app (this file): JSON, then the connection closes. */
function errorHeaders(text: string): Record<string, string> {
  return { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)), 'X-Content-Type-Options': 'nosniff', Connection: 'close' };
}

export function rawErrorResponse(status: number, body: Record<string, unknown>): string {
  const text = JSON.stringify(body);
  const head = Object.entries(errorHeaders(text)).map(([k, v]) => `${k}: ${v}\r\n`);
  return `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\n${head.join('')}\r\n${text}`;
}

interface ParserError extends Error {
  code?: string;
  rawPacket?: Buffer;
}

/** Socket fields Node keeps on the connection; `_httpMessage` is the response in progress, if any. */
interface HttpSocket extends Duplex {
  _httpMessage?: { headersSent?: boolean } | null;
  /** Node's parser; `incoming` is the request whose body is still being read (a 408's request). */
  parser?: { incoming?: { url?: unknown; complete?: unknown } | null } | null;
}

/** Pure: the error body for a client error, in the caller's shape when its path is known. */
export function clientErrorBody(p: ErrorPayload, path: string | undefined): Record<string, unknown> {
  return path === undefined ? eitherErrorBody(p) : errorBody(shapeFor(path), p);
}

/**
 * The path of the request a client error belongs to: its request line, or the request whose
 * body is still coming (a 408). A complete one is the last request of a kept-alive connection.
 */
function failedPath(err: ParserError, socket: HttpSocket): string | undefined {
  const incoming = socket.parser?.incoming;
  const url = incoming?.complete === false ? incoming.url : undefined;
  return pathFromRaw(err.rawPacket) ?? (typeof url === 'string' ? url.split('?')[0] : undefined);
}

/** Marks a socket whose client error was answered: the parser reports the same error again as more bytes come. */
const ANSWERED = Symbol('client error answered');

export function onClientError(err: ParserError, socket: HttpSocket): void {
  // The answer is on its way: what the client still sends is read and dropped until the socket goes (below).
  if (Reflect.get(socket, ANSWERED) === true) return;
  // Node's own rule: only answer when nothing of a response has been written yet. A request
  // answered already whose body is still being read and dropped (isDraining) had its answer:
  // Node's 408 past server_read (which counts from the request's first byte) would be a second.
  const answerable = err.code !== 'ECONNRESET' && socket.writable && !socket._httpMessage?.headersSent && !isDraining(socket);
  if (!answerable) {
    socket.destroy();
    return;
  }
  const p = clientErrorPayload(err.code);
  const answer = rawErrorResponse(p.status, clientErrorBody(p, failedPath(err, socket)));
  // A timeout (408) leaves Node's parser working: bytes still coming could start a request the
  // app would serve (and Copilot bill) after its client was told 408. Gone once the answer is out.
  if (!err.code?.startsWith('HPE_')) {
    socket.end(answer, () => socket.destroy());
    setTimeout(() => socket.destroy(), 1000).unref();
    return;
  }
  // The parser failed for good (oversized headers, a bad chunk): the answer and our end of the
  // connection, then the rest of what the client sends is still read, for up to 1 s: a close with
  // unread bytes is a reset, and a reset can cost the client the answer before it reads it. Then
  // the socket is gone whatever the peer does: a half-closed socket would keep its request, and
  // the body budget it reserved.
  Reflect.set(socket, ANSWERED, true);
  socket.end(answer);
  setTimeout(() => socket.destroy(), 1000).unref();
}

export function onConnect(req: http.IncomingMessage, socket: Duplex): void {
  const p: ErrorPayload = { status: 405, message: 'CONNECT is not supported: this is not a forward proxy', code: 'method_not_allowed', param: null };
  socket.on('error', () => socket.destroy());
  socket.end(rawErrorResponse(405, errorBody(shapeFor(req.url ?? '/'), p)));
}

/**
 * An `Expect` other than `100-continue`: 417 (RFC 9110 §10.1.1), in the
 * caller's error shape. Without this listener Node answers it with an empty body.
 */
export function onUnmetExpectation(req: http.IncomingMessage, res: http.ServerResponse): void {
  const p: ErrorPayload = { status: 417, message: 'Only "Expect: 100-continue" is supported', code: 'expectation_failed', param: null };
  const text = JSON.stringify(errorBody(shapeFor((req.url ?? '/').split('?')[0] ?? '/'), p));
  res.writeHead(417, errorHeaders(text));
  res.end(text);
}

/** Attach them to the proxy's HTTP server. */
export function hardenServer(server: ProxyServer): void {
  server.on('clientError', onClientError);
  server.on('connect', onConnect);
  server.on('checkExpectation', onUnmetExpectation);
}
