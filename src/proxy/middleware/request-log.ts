import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response, ResponseLocals } from '../http.ts';
import type { Logger } from '../../log.ts';
import type { ProxyStats } from '../context.ts';
import type { ProxyMetrics } from '../metrics.ts';
import type { RoutedModel } from '../models/router.ts';
import type { RouteSpec } from '../routes/table.ts';
import { mergeUsage, usageIn, type UsageSeen } from '../../usage/meter.ts';
import { costOf, type Cost, type PriceTable } from '../../usage/prices.ts';
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

/** The request's log fields, which requestLog made first (made here if a route runs without it, as in a unit test). */
export function logFields(res: { locals: ResponseLocals }): RequestLogFields {
  res.locals.req ??= { requestId: randomUUID(), startedAt: Date.now() };
  return res.locals.req;
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
 * One request as it ended: the single record the log line, the metrics and
 * the usage record are each made from (#22). Built once per request, never
 * holding a body or a token; every string in it is bounded (route names come
 * from the route table, the rest is clipped where it is written).
 */
export interface RequestRecord {
  readonly t: number;
  readonly id: string;
  readonly method: string;
  /** The route table's name for it, or "unmatched". */
  readonly route: string;
  /** A polled route: its successes are logged at debug. */
  readonly quiet: boolean;
  readonly path: string;
  readonly status: number;
  readonly clientClosed: boolean;
  readonly error: string | undefined;
  /** The model the client asked for. */
  readonly model: string | undefined;
  /** The Copilot model it reached; set only for model requests, which are accounted. */
  readonly upstreamModel: string | undefined;
  readonly stream: boolean | undefined;
  readonly ttfbMs: number | undefined;
  readonly totalMs: number;
  readonly usage: UsageSeen;
  readonly cost: Cost;
  /** The client product (clientOf): a bounded name. */
  readonly client: string;
  readonly initiator: 'user' | 'agent' | null;
  readonly premium: number | null;
}

/** Pure: the record's log line (logfmt; client-chosen values quoted, so no field or line can be forged). */
export function logLineOf(r: RequestRecord): string {
  const u = r.usage;
  return `request ${logfmt([
    ['method', r.method],
    ['route', r.route],
    ['path', r.path],
    ['status', r.status],
    ['client_closed', r.clientClosed ? true : undefined],
    ['error', r.error],
    ['model', r.model],
    ['upstream_model', r.upstreamModel],
    ['stream', r.stream],
    ['ttfb_ms', r.ttfbMs],
    ['total_ms', r.totalMs],
    ['prompt_tokens', u.input],
    ['cached_tokens', u.cached],
    ['completion_tokens', u.output],
    ['credits', r.cost.nanoAiu === null ? undefined : `${r.cost.source === 'estimated' ? '~' : ''}${creditsOf(r.cost.nanoAiu)}`],
    ['id', r.id],
  ])}`;
}

/** Pure: the record's usage record, for a model request (one that reached a Copilot model); null otherwise. */
export function usageRecordOf(r: RequestRecord): UsageRecord | null {
  if (r.upstreamModel === undefined) return null;
  return {
    t: r.t,
    client: r.client,
    route: r.route,
    model: r.model ?? null,
    upstream_model: r.upstreamModel,
    initiator: r.initiator,
    premium: r.premium,
    prompt_tokens: r.usage.input ?? null,
    cached_tokens: r.usage.cached ?? null,
    completion_tokens: r.usage.output ?? null,
    nano_aiu: r.cost.nanoAiu,
    cost_source: r.cost.source,
    status: r.status,
    ttfb_ms: r.ttfbMs ?? null,
    duration_ms: r.totalMs,
    stream: r.stream === true,
  };
}

/** Where each request's record goes, besides the log: the metrics and the usage store (none in unit tests). */
export interface RequestSinks {
  metrics?: Pick<ProxyMetrics, 'observeRequest'>;
  usage?: { add(r: UsageRecord): void };
}

/**
 * Gives each request an id (the client's X-Request-Id when sane, echoed back
 * and sent upstream) and, when the response ends or the client goes away,
 * makes its one RequestRecord and hands it to the three sinks: the log line,
 * the metrics and (for model requests) the usage record.
 */
export function requestLog(
  log: Logger,
  /** The route the table matched for this request (routes/table.ts): its name and log level. */
  routeOf: (req: Request) => Pick<RouteSpec, 'name' | 'log'> | null,
  stats: ProxyStats,
  now: () => number = Date.now,
  sinks: RequestSinks = {},
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
      const t = now();
      const spec = routeOf(req);
      const errorCode = res.locals.errorCode;
      const usage = fields.usage ?? {};
      const initiator = fields.initiator ?? null;
      const record: RequestRecord = {
        t,
        id: fields.requestId,
        method: req.method,
        // Bounded: a route's name from the table, or "unmatched".
        route: spec?.name ?? 'unmatched',
        quiet: spec?.log === 'quiet',
        path: req.originalUrl.split('?')[0] ?? '',
        status: res.statusCode,
        clientClosed: !ending && !res.writableFinished,
        error: typeof errorCode === 'string' ? errorCode : undefined,
        // Requests refused before a route named the model still say which one they asked for.
        model: fields.model ?? requestedModelOf(req.body),
        upstreamModel: fields.upstreamModel,
        stream: fields.streamed,
        ttfbMs: fields.ttfbMs ?? headersMs,
        totalMs: t - fields.startedAt,
        usage,
        cost: costOf(usage, fields.upstreamModel, prices),
        client: clientOf(req.get('user-agent')),
        initiator,
        // A model request (one that got as far as a Copilot model) is accounted: what it cost in premium requests.
        premium: fields.upstreamModel !== undefined ? premiumCost(initiator, fields.premiumMultiplier ?? null, res.statusCode) : null,
      };
      // Sink 1, the log. Polled routes (monitors, the tray, an open dashboard): their successes at debug.
      if (record.quiet && record.status < 400) log.debug(logLineOf(record));
      else log.info(logLineOf(record));
      if (usage.dropped) log.debug(`request ${record.id}: dropped usage values that are not counts: ${usage.dropped.map((d) => logfmtValue(d)).join(' ')}`);
      // Sink 2, the metrics. Runs inside a response event listener: nothing may throw out of it.
      try {
        sinks.metrics?.observeRequest(record);
      } catch (err) {
        log.warn(`request ${record.id}: metrics not recorded (${err instanceof Error ? err.message : String(err)})`);
      }
      // Sink 3, the usage record: never a body or a token.
      const accounted = sinks.usage ? usageRecordOf(record) : null;
      if (accounted !== null) sinks.usage?.add(accounted);
    };
    onEnd(res, () => finish(true));
    res.on('finish', () => finish());
    res.on('close', () => finish());
    next();
  };
}
