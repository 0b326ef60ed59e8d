import type { Request, RequestHandler } from '../http.ts';
import { OverloadedError } from '../../errors.ts';

/** Bytes held for one request's body. */
export interface Reservation {
  /** Gives all of it back (once; later calls do nothing). */
  release(): void;
  /** Keeps only `bytes` of it, when the body's real size is known (never grows it). */
  shrinkTo(bytes: number): void;
}

/**
 * A budget of request-body bytes in flight (`max_inflight_body_bytes`), taken
 * BEFORE a body is read: a request's declared Content-Length (or, chunked or
 * compressed, `max_body_bytes`, its worst case) is reserved; once the body is
 * read, the reservation shrinks to the bytes it really took, and the rest is
 * given back when the response is done.
 * Past the budget, requests wait unread in a FIFO queue (their bytes stay in
 * the kernel's socket buffers: TCP slows the sender) up to `max_queue`, then
 * get 429 with Retry-After. So memory is bounded by configuration, whatever
 * the load: 400 concurrent 5 MB uploads hold at most the budget.
 */
export interface BodyBudget {
  /** Reserves `bytes` at once when they fit and nobody waits; null otherwise (then use reserve). */
  tryReserve(bytes: number): Reservation | null;
  /** Waits until `bytes` fit; rejects with OverloadedError when the queue is full, or `signal`'s reason. */
  reserve(bytes: number, signal: AbortSignal): Promise<Reservation>;
  readonly inFlightBytes: number;
  readonly queued: number;
}

interface Waiter {
  bytes: number;
  grant: () => void;
}

export function createBodyBudget(opts: { maxBytes: number; maxQueue: number; retryAfterSec?: number }): BodyBudget {
  let inFlight = 0;
  const queue: Waiter[] = [];
  const pump = () => {
    // FIFO: the head waits for room even when a smaller one behind it would fit (no starvation).
    while (queue.length > 0 && inFlight + queue[0]!.bytes <= opts.maxBytes) {
      const w = queue.shift()!;
      inFlight += w.bytes;
      w.grant();
    }
  };
  const clamp = (requested: number) => Math.min(Math.max(0, requested), opts.maxBytes);
  const reservation = (bytes: number): Reservation => {
    let held = bytes;
    const giveBack = (n: number) => {
      held -= n;
      inFlight -= n;
      pump();
    };
    return {
      release: () => {
        if (held > 0) giveBack(held);
      },
      shrinkTo: (requested) => {
        const keep = clamp(requested);
        if (keep < held) giveBack(held - keep);
      },
    };
  };
  return {
    tryReserve(requested) {
      const bytes = clamp(requested);
      if (queue.length > 0 || inFlight + bytes > opts.maxBytes) return null;
      inFlight += bytes;
      return reservation(bytes);
    },
    reserve(requested, signal) {
      // A body as large as the whole budget goes alone.
      const bytes = clamp(requested);
      if (signal.aborted) return Promise.reject(signal.reason);
      if (queue.length === 0 && inFlight + bytes <= opts.maxBytes) {
        inFlight += bytes;
        return Promise.resolve(reservation(bytes));
      }
      if (queue.length >= opts.maxQueue) return Promise.reject(new OverloadedError(opts.retryAfterSec ?? 1));
      return new Promise((resolve, reject) => {
        const onAbort = () => {
          const i = queue.indexOf(w);
          if (i >= 0) queue.splice(i, 1);
          reject(signal.reason);
        };
        const w: Waiter = {
          bytes,
          grant: () => {
            signal.removeEventListener('abort', onAbort);
            resolve(reservation(bytes));
          },
        };
        queue.push(w);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },
    get inFlightBytes() {
      return inFlight;
    },
    get queued() {
      return queue.length;
    },
  };
}

/**
 * The bytes a request's body will take: its Content-Length, else (chunked) the
 * largest body allowed; 0 when it has none. A compressed body may inflate to the
 * largest body allowed whatever its length on the wire, so it reserves that.
 */
export function declaredBodyBytes(
  headers: { 'content-length'?: string | undefined; 'transfer-encoding'?: string | undefined; 'content-encoding'?: string | undefined },
  maxBodyBytes: number,
): number {
  const cl = headers['content-length'];
  const length = cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : undefined;
  if (length === undefined ? headers['transfer-encoding'] === undefined : length === 0) return 0;
  const encoding = headers['content-encoding']?.trim().toLowerCase() ?? 'identity';
  if (length === undefined || (encoding !== 'identity' && encoding !== '')) return maxBodyBytes;
  return Math.min(length, maxBodyBytes);
}

/**
 * The middleware: reserve before the body parser reads, release when the response is done or the client left.
 * The reservation is left in `res.locals.bodyHeld` for the body parser to shrink to what it read.
 * Only for the routes that read a body (`takesBody`): another route's body is never read, so it holds no memory.
 */
export function bodyBudget(budget: BodyBudget, maxBodyBytes: number, takesBody: (req: Request) => boolean): RequestHandler {
  return (req, res, next) => {
    const bytes = takesBody(req) ? declaredBodyBytes(req.headers, maxBodyBytes) : 0;
    if (bytes === 0) {
      next();
      return;
    }
    const now = budget.tryReserve(bytes);
    if (now) {
      res.once('close', now.release);
      res.locals.bodyHeld = now;
      next();
      return;
    }
    // Past the budget: wait in the queue (a controller only for the requests that wait).
    const ac = new AbortController();
    let held: Reservation | null = null;
    const done = () => {
      if (held) held.release();
      else ac.abort(new Error('client closed the connection while queued'));
    };
    res.once('close', done);
    budget.reserve(bytes, ac.signal).then(
      (r) => {
        held = r;
        // The client may have gone while this request waited.
        if (res.destroyed || res.writableFinished) r.release();
        else {
          res.locals.bodyHeld = r;
          next();
        }
      },
      (err: unknown) => {
        if (!ac.signal.aborted) next(err);
      },
    );
  };
}
