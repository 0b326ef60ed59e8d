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
}

/** Socket fields Node keeps on the connection. */
interface HttpSocket extends Duplex {
  /** The response being written, or next to be: the first of the pipeline's answers still owed. */
  _httpMessage?: unknown;
  /** Node's parser; `incoming` is the last request it read the headers of. */
  parser?: { incoming?: { complete?: unknown } | null } | null;
}

/** Marks a socket whose client error was answered, or will be: the parser reports the same error again as more bytes come. */
const ANSWERED = Symbol('client error answered');

/**
 * The response still owed to a request read whole before the bytes that failed: they were a
 * later request (pipelined, or sent while the answer streams), so their error is answered after it.
 */
function owedResponse(socket: HttpSocket): http.ServerResponse | undefined {
  const res = socket._httpMessage;
  const wholeRequest = socket.parser?.incoming?.complete === true;
  return wholeRequest && res instanceof http.ServerResponse && !res.writableFinished ? res : undefined;
}

/**
 * The error's answer, then our end of the connection. The parser failed for good (oversized
 * headers, a bad chunk): the rest of what the client sends is still read, for up to 1 s, since a
 * close with unread bytes is a reset, and a reset can cost the client the answer before it reads
 * it. A timeout (408) leaves Node's parser working: bytes still coming could start a request the
 * app would serve (and Copilot bill) after its client was told 408, so that socket is gone once
 * the answer is out. Either way it is gone within 1 s whatever the peer does: a half-closed
 * socket would keep its request, and the body budget it reserved.
 */
function answerAndClose(socket: HttpSocket, err: ParserError, answer: string): void {
  if (!socket.writable) return void socket.destroy();
  if (err.code?.startsWith('HPE_') === true) socket.end(answer);
  else socket.end(answer, () => socket.destroy());
  setTimeout(() => socket.destroy(), 1000).unref();
}

/** After `res` and any answer queued behind it are finished, answer the failed request and close. */
function answerAfter(res: http.ServerResponse, socket: HttpSocket, err: ParserError, answer: string): void {
  res.once('finish', () => {
    // Node hands the socket to the next queued response as this one finishes (its own listener runs first).
    const next = owedResponse(socket);
    if (next) answerAfter(next, socket, err, answer);
    else answerAndClose(socket, err, answer);
  });
}

export function onClientError(err: ParserError, socket: HttpSocket): void {
  if (Reflect.get(socket, ANSWERED) === true) return;
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const p = clientErrorPayload(err.code);
  // No path to go by: a parser error can come before the request line, in a later read of long
  // headers, or after a kept-alive request's body. One body both SDKs read as their own.
  const answer = rawErrorResponse(p.status, eitherErrorBody(p));
  // Bytes that failed after a whole request still being answered: answered in pipeline order, after
  // it (Node's rule, "answer unless a response was written", would give this error as that
  // request's answer while it is still sent to Copilot).
  const owed = owedResponse(socket);
  if (owed) {
    Reflect.set(socket, ANSWERED, true);
    answerAfter(owed, socket, err, answer);
    return;
  }
  // The request's own error. Node's rule: only answer when nothing of a response has been
  // written yet. A request answered already whose body is still being read and dropped
  // (isDraining) had its answer: Node's 408 past server_read (which counts from the request's
  // first byte) would be a second.
  const res = socket._httpMessage;
  if ((res instanceof http.ServerResponse && res.headersSent) || isDraining(socket)) return void socket.destroy();
  Reflect.set(socket, ANSWERED, true);
  answerAndClose(socket, err, answer);
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
