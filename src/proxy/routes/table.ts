import type { RequestHandler } from '../http.ts';
import { match, type MatchFunction } from 'path-to-regexp';
import { InvalidRequestError } from '../../errors.ts';
import { DASHBOARD_FILES } from './dashboard.ts';
import type { RouteHandlers } from './handlers.ts';

/**
 * Every route the proxy answers, once, as data (#22). The request dispatch,
 * the 405 answer and its `Allow`, the error envelope, the api_key and loopback
 * guards, the request log's route names and quiet routes, and the metrics'
 * route label are all read from this table; nothing else lists the routes.
 *
 * Paths match as express matched them before (#22 replaced it): case-insensitive, one trailing slash
 * allowed; `*name` takes the rest of the path (model ids hold slashes).
 */

/** Which API the caller speaks decides the error envelope. */
export type ErrorShape = 'openai' | 'anthropic';

/**
 * - `open`: answers without the api_key (GET/HEAD): token-free liveness.
 * - `key`: needs the api_key when one is set.
 * - `page`: the dashboard's files: the api_key, and a browser without it is asked for it (Basic).
 * - `admin`: the api_key, and only from a loopback connection.
 */
export type RouteAuth = 'open' | 'key' | 'page' | 'admin';

export interface RouteSpec {
  /** The route's one name: in log lines, the `route` metric label and usage records. */
  readonly name: string;
  readonly methods: readonly ('GET' | 'POST')[];
  readonly paths: readonly string[];
  readonly shape: ErrorShape;
  readonly auth: RouteAuth;
  /** `quiet`: polled (monitors, the tray, an open dashboard): its successes are logged at debug. */
  readonly log: 'quiet' | 'normal';
  /** `json`: a JSON object body is required (415 for another content type). Only these routes read a body at all. */
  readonly body?: 'json';
  /** Mounted only when this says so (the /debug routes: `debug_endpoints`). */
  readonly debug?: true;
  /** What GET /debug lists for it. */
  readonly about?: { readonly usage: string; readonly what: string };
  readonly handler: (h: RouteHandlers) => RequestHandler;
}

/** The longest CPU profile GET /debug/cpu-profile takes. */
export const CPU_PROFILE_MAX_SECONDS = 120;

const withV1 = (p: string): string[] => [`/v1${p}`, p];

const model = (name: string, shape: ErrorShape, handler: RouteSpec['handler']): RouteSpec => ({
  name: `/v1${name}`,
  methods: ['POST'],
  paths: withV1(name),
  shape,
  auth: 'key',
  log: 'normal',
  body: 'json',
  handler,
});

const admin = (name: string, handler: RouteSpec['handler'], body?: 'json'): RouteSpec => ({ name, methods: ['POST'], paths: [name], shape: 'openai', auth: 'admin', log: 'normal', handler, ...(body ? { body } : {}) });

const debug = (name: string, handler: RouteSpec['handler'], about?: RouteSpec['about']): RouteSpec => ({
  name,
  methods: ['GET'],
  paths: [name],
  shape: 'openai',
  auth: 'admin',
  log: 'normal',
  debug: true,
  handler,
  ...(about ? { about } : {}),
});

export const ROUTES: readonly RouteSpec[] = [
  // The model routes first: they are most of the traffic.
  model('/chat/completions', 'openai', (h) => h.chat.completions),
  model('/messages', 'anthropic', (h) => h.messages.create),
  model('/responses', 'openai', (h) => h.responses.create),
  model('/embeddings', 'openai', (h) => h.embeddings.create),
  model('/messages/count_tokens', 'anthropic', (h) => h.messages.countTokens),
  { name: '/v1/models', methods: ['GET'], paths: withV1('/models'), shape: 'openai', auth: 'key', log: 'normal', handler: (h) => h.models.list },
  { name: '/v1/models/*id', methods: ['GET'], paths: withV1('/models/*id'), shape: 'openai', auth: 'key', log: 'normal', handler: (h) => h.models.get },
  { name: '/health', methods: ['GET'], paths: ['/health', '/v1/health'], shape: 'openai', auth: 'open', log: 'quiet', handler: (h) => h.health },
  { name: '/metrics', methods: ['GET'], paths: ['/metrics'], shape: 'openai', auth: 'key', log: 'quiet', handler: (h) => h.metrics },
  { name: '/usage', methods: ['GET'], paths: ['/usage', '/v1/usage'], shape: 'openai', auth: 'key', log: 'quiet', handler: (h) => h.usage.totals },
  { name: '/usage/events', methods: ['GET'], paths: ['/usage/events'], shape: 'openai', auth: 'key', log: 'quiet', handler: (h) => h.usage.events },
  admin('/admin/refresh', (h) => h.admin.refresh),
  admin('/admin/sign-in', (h) => h.admin.signIn),
  admin('/admin/sign-in/cancel', (h) => h.admin.cancelSignIn),
  admin('/admin/sign-out', (h) => h.admin.signOut),
  admin('/admin/setup', (h) => h.admin.setup, 'json'),
  debug('/debug', (h) => h.debug.index),
  debug('/debug/heap-snapshot', (h) => h.debug.heapSnapshot, { usage: '/debug/heap-snapshot', what: 'V8 heap snapshot (.heapsnapshot); blocks the process while it is taken' }),
  debug('/debug/cpu-profile', (h) => h.debug.cpuProfile, { usage: '/debug/cpu-profile?seconds=10', what: `CPU profile (.cpuprofile), 0.1-${CPU_PROFILE_MAX_SECONDS} s` }),
  debug('/debug/event-loop', (h) => h.debug.eventLoop, { usage: '/debug/event-loop?reset=1', what: 'event-loop delay (ms) and utilisation since start or the last reset' }),
  debug('/debug/handles', (h) => h.debug.handles, { usage: '/debug/handles', what: 'active handles and resources' }),
  debug('/debug/memory', (h) => h.debug.memory, { usage: '/debug/memory', what: 'memory usage and V8 heap statistics' }),
  { name: '/', methods: ['GET'], paths: ['/', '/dashboard'], shape: 'openai', auth: 'page', log: 'quiet', handler: (h) => h.dashboard },
  {
    name: '/dashboard/:file',
    methods: ['GET'],
    paths: [...DASHBOARD_FILES.keys()].map((f) => `/dashboard/${f}`),
    shape: 'openai',
    auth: 'page',
    log: 'quiet',
    handler: (h) => h.dashboard,
  },
];

/** Every route name, plus `unmatched`: the values the `route` label and the log's `route=` can take. */
export const ROUTE_NAMES: ReadonlySet<string> = new Set([...ROUTES.map((r) => r.name), 'unmatched']);

export type RouteParams = Partial<Record<string, string | string[]>>;

export type RouteMatch =
  | { readonly kind: 'route'; readonly spec: RouteSpec; readonly params: RouteParams }
  /** A known path with a method it does not take: 405 with `Allow`. */
  | { readonly kind: 'method'; readonly spec: RouteSpec; readonly allowed: readonly string[] };

/** A literal path as the table compares it: case-insensitive, one trailing slash dropped. */
function literalKey(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
}

export interface RouteTable {
  /** The route for this method and path, a 405 for a known path, or null (404). */
  match(method: string, path: string): RouteMatch | null;
  readonly routes: readonly RouteSpec[];
}

/** The methods a route answers: a GET route answers HEAD too. */
export function allowedMethods(spec: RouteSpec): readonly string[] {
  return spec.methods.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
}

/** Pure: the table's routes (the /debug ones only with `debug`), compiled for matching. */
export function compileRoutes(opts: { debug: boolean }, routes: readonly RouteSpec[] = ROUTES): RouteTable {
  const mounted = routes.filter((r) => opts.debug || r.debug !== true);
  const literal = new Map<string, RouteSpec>();
  const patterns: Array<{ spec: RouteSpec; fn: MatchFunction<RouteParams> }> = [];
  for (const spec of mounted) {
    for (const p of spec.paths) {
      if (/[:*]/.test(p)) patterns.push({ spec, fn: match<RouteParams>(p) });
      else {
        const other = literal.get(literalKey(p));
        if (other !== undefined) throw new Error(`route table: ${p} is both ${other.name} and ${spec.name}`);
        literal.set(literalKey(p), spec);
      }
    }
  }
  const answer = (spec: RouteSpec, method: string, params: RouteParams): RouteMatch => {
    const allowed = allowedMethods(spec);
    return allowed.includes(method) ? { kind: 'route', spec, params } : { kind: 'method', spec, allowed };
  };
  return {
    routes: mounted,
    match(method, path) {
      const exact = literal.get(literalKey(path));
      if (exact !== undefined) return answer(exact, method, {});
      for (const { spec, fn } of patterns) {
        let m: ReturnType<MatchFunction<RouteParams>>;
        try {
          m = fn(path);
        } catch {
          // An undecodable %-escape in a parameter.
          throw new InvalidRequestError(`Failed to decode the path ${JSON.stringify(path.slice(0, 100))}`, { code: 'invalid_request' });
        }
        if (m !== false) return answer(spec, method, m.params);
      }
      return null;
    },
  };
}

/**
 * The error envelope for a path: the matched route's, else Anthropic's under
 * an Anthropic route's path (a client of /v1/messages that mistyped the rest), else OpenAI's.
 */
export function shapeFor(path: string, table: RouteTable = ALL_ROUTES): ErrorShape {
  let m: RouteMatch | null = null;
  try {
    m = table.match('GET', path);
  } catch {
    /* an undecodable path: judged by its prefix below */
  }
  if (m !== null) return m.spec.shape;
  const lower = path.toLowerCase();
  for (const r of table.routes) {
    if (r.shape === 'anthropic' && r.paths.some((p) => lower.startsWith(`${p}/`))) return 'anthropic';
  }
  return 'openai';
}

/** Every route, /debug included: what a raw parser error's shape is judged by. */
const ALL_ROUTES: RouteTable = compileRoutes({ debug: true });
