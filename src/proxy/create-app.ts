import { drainUnread, type DrainLimits, type NextFunction, type Request, type RequestHandler, type RequestListener, type Response } from './http.ts';
import { InvalidRequestError } from '../errors.ts';
import type { ProxyContext } from './context.ts';
import { errorMiddleware } from './middleware/errors.ts';
import { debugBodies } from './middleware/debug-bodies.ts';
import { bodyBudget, createBodyBudget } from './middleware/body-budget.ts';
import { jsonBody, requireJsonBody } from './middleware/json.ts';
import { requestLog } from './middleware/request-log.ts';
import { apiKeyAuth, browserGuard, hostCheck } from './middleware/security.ts';
import { createProxyMetrics } from './metrics.ts';
import { assertLoopback } from './routes/admin.ts';
import { routeHandlers } from './routes/handlers.ts';
import { compileRoutes, type RouteMatch, type RouteParams } from './routes/table.ts';
import { fitRecord, type UsageRecord } from '../usage/record.ts';

/** The table's params as the routes read them: a `*rest` parameter's segments joined back with `/`. */
function flatParams(params: RouteParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join('/') : v;
  return out;
}

/**
 * What is read and dropped of a body an error answer left unread
 * (drainUnread), `elapsedMs` into the request: up to 64 MiB, for up to 5 s,
 * and ending 1 s before timeouts.server_read runs out: Node's timeout then
 * closes the connection (no second answer: isDraining), which a client
 * still sending may see as a reset. `ms` below 200: no time to drain, the
 * connection is closed. Pure.
 */
export function drainLimits(serverReadSec: number, elapsedMs: number): DrainLimits {
  return { bytes: 64 * 1024 * 1024, ms: Math.min(5000, serverReadSec * 1000 - elapsedMs - 1000) };
}

/** Whether a body follows the headers (a declared length above 0, or chunked). */
function hasBody(req: Request): boolean {
  const cl = req.headers['content-length'];
  return (cl !== undefined && cl !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** A body declared longer than the drain takes: the answer closes the connection instead (the client may see a reset). */
function declaredLength(req: Request): number {
  const cl = req.headers['content-length'];
  return cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : 0;
}

/** Runs handlers in turn, each calling `next` to go on: a throw or a rejected promise goes to `done`. */
function runChain(chain: readonly RequestHandler[], req: Request, res: Response, done: NextFunction): void {
  let i = 0;
  const step = (err?: unknown): void => {
    if (err !== undefined && err !== null && err !== 'route') {
      done(err);
      return;
    }
    const h = chain[i++];
    if (h === undefined) {
      done();
      return;
    }
    try {
      const r: unknown = h(req, res, step);
      if (r instanceof Promise) r.then(undefined, (e: unknown) => done(e ?? new Error('route handler rejected')));
    } catch (e) {
      done(e);
    }
  };
  step();
}

/**
 * The proxy's HTTP app: one listener for node:http (#22). Routes come from one
 * table (routes/table.ts), matched once per request; the guards, the log and
 * the errors read that match. The layers run in order, each a plain function;
 * an error from any goes to the one error answer. No I/O at construction.
 */
export function createApp(ctx: ProxyContext): RequestListener {
  const metrics = ctx.metrics ?? createProxyMetrics(ctx);
  const table = compileRoutes({ debug: ctx.config.debug_endpoints });
  const handlers = routeHandlers(ctx, metrics);
  const chains = new Map(table.routes.map((spec) => [spec, spec.body === 'json' ? [requireJsonBody, spec.handler(handlers)] : [spec.handler(handlers)]]));
  // Each request's match, made once (first thing) and read by every layer below.
  const matches = new WeakMap<Request, RouteMatch | null>();
  const matchOf = (req: Request): RouteMatch | null => matches.get(req) ?? null;
  // A path that cannot be decoded is answered (400) only after the guards below, like any other request.
  const unmatchable = new WeakMap<Request, unknown>();

  // Each model request's usage record: to the store (files) and the live feed.
  const usageSink = {
    add: (record: UsageRecord) => {
      // The feed gets what the file got: bounded strings, a record every reader takes (fitted once, by the store).
      const r = ctx.usageLog ? ctx.usageLog.add(record) : fitRecord(record);
      if (r !== null) ctx.usageFeed?.push(r);
    },
  };
  // Bodies count against the in-flight budget before they are read (memory bounded by configuration).
  const budget = createBodyBudget({ maxBytes: ctx.config.max_inflight_body_bytes, maxQueue: ctx.config.max_queue });
  // Only the routes that take a JSON body read one (and reserve for it): a body sent anywhere else is never read.
  const takesBody = (req: Request) => matchOf(req)?.spec.body === 'json';

  // The rest of a body no one will read: read and dropped within drainLimits, or the answer closes the connection.
  const limitsNow = (res: Response) => {
    const now = ctx.now();
    return drainLimits(ctx.config.timeouts.server_read, now - (res.locals.req?.startedAt ?? now));
  };
  const dropUnread = (req: Request, res: Response) => {
    const drain = limitsNow(res);
    if (declaredLength(req) > drain.bytes || drain.ms < 200) res.setHeader('connection', 'close');
    else drainUnread(req, drain);
  };

  const layers: RequestHandler[] = [
    requestLog(ctx.log, (req) => matchOf(req)?.spec ?? null, ctx.stats, ctx.now, { metrics, usage: usageSink }),
    (req, _res, next) => {
      try {
        matches.set(req, table.match(req.method, req.path));
      } catch (err) {
        unmatchable.set(req, err);
      }
      next();
    },
    // Security first (README "Security"): DNS rebinding, then browsers, then the api_key; only then is a body read.
    hostCheck(ctx.config.host),
    browserGuard(ctx.config.cors_origins),
    apiKeyAuth(ctx.config.api_key, (req) => matchOf(req)?.spec.auth ?? null),
    // Unknown paths (404) and known paths with another method (405) are answered before any body is read.
    (req, res, next) => {
      if (unmatchable.has(req)) throw unmatchable.get(req);
      const m = matchOf(req);
      if (m === null) throw new InvalidRequestError(`Unknown route: ${req.method} ${req.path}`, { status: 404, code: 'unknown_route' });
      if (m.kind === 'method') {
        res.setHeader('allow', m.allowed.join(', '));
        throw new InvalidRequestError(`${req.method} is not allowed on ${req.path}; use ${m.allowed.join(' or ')}`, { status: 405, code: 'method_not_allowed' });
      }
      if (m.spec.auth === 'admin') assertLoopback(req);
      // A body sent to a route that reads none: dropped within the same limits as one an error left
      // unread, counted from now. Left to Node, it is read without limit until server_read, and a 408
      // follows the answer; started only at the answer, Node's own discarding hides the bytes from the count.
      if (m.spec.body !== 'json' && hasBody(req)) dropUnread(req, res);
      next();
    },
    bodyBudget(budget, ctx.config.max_body_bytes, takesBody),
    jsonBody(ctx.config.max_body_bytes, takesBody),
    ...(ctx.config.log_level === 'debug' ? [debugBodies(ctx.log)] : []),
    (req, res, next) => {
      const m = matchOf(req);
      if (m?.kind !== 'route') {
        next();
        return;
      }
      req.params = flatParams(m.params);
      runChain(chains.get(m.spec) ?? [], req, res, next);
    },
  ];
  const onError = errorMiddleware(ctx.log);
  return (req, res) => {
    runChain(layers, req, res, (err?: unknown) => {
      const e = err ?? new InvalidRequestError(`Unknown route: ${req.method} ${req.path}`, { status: 404, code: 'unknown_route' });
      // An answer before the whole body came (a 413, 401, 429...): the rest is read and dropped, within limits.
      if (!req.complete && !res.headersSent) dropUnread(req, res);
      try {
        onError(e, req, res, () => undefined);
      } catch (fatal) {
        // The error answer itself failed: nothing more can be said on this connection.
        ctx.log.error('the error answer failed:', fatal);
        res.destroy();
      }
    });
  };
}
