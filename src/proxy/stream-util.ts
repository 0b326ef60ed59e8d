import type { Request, Response } from './http.ts';
import { AppError } from '../errors.ts';

export class ClientClosedError extends AppError {
  constructor() {
    super('client closed the connection', { code: 'client_closed', status: 499 });
  }
}

/**
 * A signal that fires when the client goes away before the response finished
 * (so the upstream request is aborted at once), or when `maxMs` passes.
 */
export function requestSignal(_req: Request, res: Response, maxMs: number): { signal: AbortSignal; clientGone: () => boolean } {
  // One controller and one timer, cleared when the response is done (no AbortSignal.any/timeout pair per request).
  const ac = new AbortController();
  let gone = false;
  const timer = setTimeout(() => ac.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), maxMs);
  timer.unref();
  res.once('close', () => {
    clearTimeout(timer);
    if (!res.writableFinished) {
      gone = true;
      ac.abort(new ClientClosedError());
    }
  });
  return { signal: ac.signal, clientGone: () => gone };
}

/**
 * Starts a 200 event stream. The headers go out with the first event written
 * in this turn of the event loop (one packet, one syscall), or on their own at
 * its end: a client sees the 200 at once either way. (A HEAD answer ends at
 * once instead: `res.end()` sends them.)
 */
export function startSse(res: Response): void {
  res.status(200);
  res.setHeader('content-type', 'text/event-stream; charset=utf-8');
  res.setHeader('cache-control', 'no-cache');
  res.setHeader('connection', 'keep-alive');
  res.setHeader('x-accel-buffering', 'no');
  setImmediate(() => {
    if (!res.headersSent && !res.destroyed) res.flushHeaders();
  });
}

/** Write and respect back-pressure: a slow client slows the upstream read, nothing piles up in memory. */
export function write(res: Response, text: string): Promise<void> {
  if (res.destroyed || res.writableEnded) return Promise.resolve();
  if (res.write(text)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Ends the response with its last text: one write with the end of the body. A response that is gone gets no text. */
export function endWith(res: Response, text: string): void {
  if (res.destroyed || res.writableEnded) res.end();
  else res.end(text);
}

/** Decodes an upstream body as UTF-8 text chunks, keeping multi-byte characters whole across chunks. */
export async function* textChunks(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of body) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (text) yield text;
  }
  const rest = decoder.decode();
  if (rest) yield rest;
}
