import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '../../log.ts';
import type { ProxyStats } from '../context.ts';
import type { ProxyMetrics } from '../metrics.ts';
import type { RoutedModel } from '../models/router.ts';
import type { RouteSpec } from '../routes/table.ts';
import { mergeUsage, usageIn, type UsageSeen } from '../../usage/meter.ts';
import { costOf, type PriceTable } from '../../usage/prices.ts';
import { clientOf, creditsOf, multiplierOf, premiumCost, type UsageRecord } from '../../usage/record.ts';

/** What a route tells the request log about itself (never bodies, never tokens). */
export interface RequestLogFields {
  requestId: string;
  startedAt: number;
  /** The model name the client asked for. */
  model?: string;
  /** The model Copilot got (after model_map, dated names, fallback). */
  upstreamModel?: string;
  streamed?: boolean;
  /** Time to the first body byte the client got (first SSE event for streams); default: when headers went out. */
  ttfbMs?: number;
  /** What Copilot's answer said it cost (tokens, AI credits), merged over the answer's events (noteUsage). */
  usage?: UsageSeen;
  /** Who initiated the turn (decides premium billing), set when the request goes upstream. */
  initiator?: 'user' | 'agent';
  /** The routed model's premium multiplier (null: Copilot did not say). */
  premiumMultiplier?: number | null;
}

/** What a route tells the log once it knows its Copilot model: its id and premium multiplier. */
export function noteRoutedModel(fields: RequestLogFields, target: Pick<RoutedModel, 'id' | 'model'>): void {
  fields.upstreamModel = target.id;
  fields.premiumMultiplier = multiplierOf(target.model?.billing);
}

/** What each Copilot call of a request carries: its id (sent as X-Request-Id), who initiated the turn, whether it holds an image. */
export function callMeta(fields: RequestLogFields, prep: { initiator: 'user' | 'agent'; vision: boolean }): { requestId: string; initiator: 'user' | 'agent'; vision: boolean } {
  // The one place every Copilot call's initiator is decided: the usage record takes it from here.
  fields.initiator = prep.initiator;
  return { requestId: fields.requestId, initiator: prep.initiator, vision: prep.vision };
}

/**
 * The one way a route reports what an answer cost: `value` is one upstream JSON answer or SSE event,
 * as Copilot sent it (before any translation). Counts are validated at this edge (meter.ts):
 * `"12"`, -1, Infinity, NaN are dropped.
 */
export function noteUsage(fields: RequestLogFields, value: unknown): void {
  const seen = usageIn(value);
  if (seen.input === undefined && seen.output === undefined && seen.cached === undefined && seen.nanoAiu === undefined && !seen.dropped) return;
  fields.usage = mergeUsage(fields.usage ?? {}, seen);
}

export function logFields(res: { locals: Record<string, unknown> }): RequestLogFields {
  return res.locals.req as RequestLogFields;
}

const VALID_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_VALUE = 200;

/** One logfmt value: bare when safe, else JSON-quoted (so a path or model cannot forge fields or lines); clipped. */
export function logfmtValue(v: string | number | boolean): string {
  const s = String(v);
  const clipped = s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE)}…` : s;
  return /^[A-Za-z0-9._:/@+*?()[\]-]+$/.test(clipped) ? clipped : JSON.stringify(clipped);
}

/** Pure: `key=value` pairs in order, undefined values left out. */
export function logfmt(fields: ReadonlyArray<readonly [string, string | number | boolean | undefined]>): string {
  return fields
    .filter((f): f is readonly [string, string | number | boolean] => f[1] !== undefined)
    .map(([k, v]) => `${k}=${logfmtValue(v)}`)
    .join(' ');
}

/** The `model` a JSON body names, if any (a string, clipped by logfmt). */
function requestedModelOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, 'model')) return undefined;
  const m: unknown = Reflect.get(body, 'model');
  return typeof m === 'string' && m !== '' ? m : undefined;
}


/** Calls `fn` once, when the response's headers are written. */
function onHeaders(res: Response, fn: () => void): void {
  const original = res.writeHead;
  let called = false;
  res.writeHead = function writeHead(this: Response, ...args: unknown[]) {
    if (!called) {
      called = true;
      fn();
    }
    return (original as (...a: unknown[]) => Response).apply(this, args);
  } as Response['writeHead'];
}

/** Runs `fn` once, just before the response's own end() (which writes the last bytes). */
function onEnd(res: Response, fn: () => void): void {
  const original = res.end;
  res.end = function (this: Response, ...args: unknown[]) {
    try {
      fn();
    } catch {
      /* the record is best effort; the answer must still go out */
    }
    return (original as (...a: unknown[]) => Response).apply(this, args);
  } as Response['end'];
}

/**
 * Gives each request an id (the client's X-Request-Id when sane, echoed back
 * and sent upstream) and writes one structured (logfmt) line when the response
 * ends or the client goes away: method, route, path, status, model, stream,
 * ttfb_ms, total_ms, prompt/completion tokens, id. Also feeds the metrics.
 */
export function requestLog(
  log: Logger,
  /** The route the table matched for this request (routes/table.ts): its name and log level. */
  routeOf: (req: Request) => Pick<RouteSpec, 'name' | 'log'> | null,
  stats: ProxyStats,
  now: () => number = Date.now,
  metrics?: Pick<ProxyMetrics, 'observeRequest'>,
  usage?: { add(r: UsageRecord): void },
  prices?: PriceTable,
): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const fields: RequestLogFields = { requestId: incoming && VALID_ID.test(incoming) ? incoming : randomUUID(), startedAt: now() };
    res.locals.req = fields;
    res.setHeader('x-request-id', fields.requestId);
    let headersMs: number | undefined;
    onHeaders(res, () => {
      headersMs = now() - fields.startedAt;
    });
    stats.inFlight += 1;
    stats.requestsTotal += 1;
    let done = false;
    // `ending`: called from res.end, just before the last bytes go out, so the record is on disk
    // before the client can have the whole answer (a kill -9 then loses no answered request).
    const finish = (ending = false) => {
      if (done) return;
      done = true;
      stats.inFlight -= 1;
      const totalMs = now() - fields.startedAt;
      const ttfbMs = fields.ttfbMs ?? headersMs;
      const spec = routeOf(req);
      // Bounded: a route's name from the table, or "unmatched" (log lines, metric labels, usage records).
      const route = spec?.name ?? 'unmatched';
      const clientClosed = !ending && !res.writableFinished;
      const errorCode = res.locals.errorCode;
      // Requests refused before a route named the model still say which one they asked for.
      const model = fields.model ?? requestedModelOf(req.body);
      const u = fields.usage ?? {};
      const cost = costOf(u, fields.upstreamModel, prices);
      const line = logfmt([
        ['method', req.method],
        ['route', route],
        ['path', req.originalUrl.split('?')[0] ?? ''],
        ['status', res.statusCode],
        ['client_closed', clientClosed ? true : undefined],
        ['error', typeof errorCode === 'string' ? errorCode : undefined],
        ['model', model],
        ['upstream_model', fields.upstreamModel],
        ['stream', fields.streamed],
        ['ttfb_ms', ttfbMs],
        ['total_ms', totalMs],
        ['prompt_tokens', u.input],
        ['cached_tokens', u.cached],
        ['completion_tokens', u.output],
        ['credits', cost.nanoAiu === null ? undefined : `${cost.source === 'estimated' ? '~' : ''}${creditsOf(cost.nanoAiu)}`],
        ['id', fields.requestId],
      ]);
      // Polled routes (monitors, the tray, an open dashboard): their successes are logged at debug.
      if (spec?.log === 'quiet' && res.statusCode < 400) log.debug(`request ${line}`);
      else log.info(`request ${line}`);
      if (u.dropped) log.debug(`request ${fields.requestId}: dropped usage values that are not counts: ${u.dropped.map((d) => logfmtValue(d)).join(' ')}`);
      // A model request (one that got as far as a Copilot model) is accounted: who, what it cost.
      const accounted = fields.upstreamModel !== undefined;
      const client = clientOf(req.get('user-agent'));
      const initiator = fields.initiator ?? null;
      const premium = accounted ? premiumCost(initiator, fields.premiumMultiplier ?? null, res.statusCode) : null;
      // Runs inside a response event listener: nothing may throw out of it.
      try {
        metrics?.observeRequest({
          method: req.method,
          route,
          status: res.statusCode,
          // Only the upstream model, bounded by Copilot's list: a name a client made up
          // (count_tokens answers any) never becomes a series.
          model: fields.upstreamModel,
          ttfbMs,
          totalMs,
          promptTokens: u.input,
          completionTokens: u.output,
          client,
          premium,
          nanoAiu: cost.nanoAiu,
        });
      } catch (err) {
        log.warn(`request ${fields.requestId}: metrics not recorded (${err instanceof Error ? err.message : String(err)})`);
      }
      // Its usage record: never a body or a token.
      if (usage && fields.upstreamModel !== undefined) {
        usage.add({
          t: now(),
          client,
          route,
          model: model ?? null,
          upstream_model: fields.upstreamModel,
          initiator,
          premium,
          prompt_tokens: u.input ?? null,
          cached_tokens: u.cached ?? null,
          completion_tokens: u.output ?? null,
          nano_aiu: cost.nanoAiu,
          cost_source: cost.source,
          status: res.statusCode,
          ttfb_ms: ttfbMs ?? null,
          duration_ms: totalMs,
          stream: fields.streamed === true,
        });
      }
    };
    onEnd(res, () => finish(true));
    res.on('finish', () => finish());
    res.on('close', () => finish());
    next();
  };
}
