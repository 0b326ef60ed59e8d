import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from '../http.ts';
import type { RouteAuth } from '../routes/table.ts';
import { isLoopbackHost } from '../../config/schema.ts';
import { AppError, InvalidRequestError } from '../../errors.ts';

/**
 * The browser-facing defences. Any web page the user visits can send requests
 * to http://localhost:8081, so, in this order (create-app.ts):
 *   1. hostCheck     - a Host that is not ours means DNS rebinding: 403.
 *   2. browserGuard  - an Origin (or Sec-Fetch-Site) from a page not in
 *                      cors_origins: 403; CORS headers only for listed origins;
 *                      simple content types (text/plain, forms) on writes: 415.
 *   3. apiKeyAuth    - when api_key is set, every route but /health needs it: 401.
 * Each answers in the caller's error shape (errors.ts picks it from the path).
 */

export class ForbiddenError extends AppError {
  constructor(message: string, code = 'forbidden') {
    super(message, { code, status: 403 });
  }
}

export class UnauthorizedError extends AppError {
  constructor(message: string) {
    super(message, { code: 'invalid_api_key', status: 401 });
  }
}

/** Bind addresses that listen on every interface: remote clients reach us under any name. */
export function isWildcardHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === '0.0.0.0' || h === '::' || h === '';
}

/** The host part of a Host header, lowercased, without port or IPv6 brackets; undefined when malformed. */
export function hostnameOf(header: string): string | undefined {
  const h = header.trim().toLowerCase();
  const m = /^\[([0-9a-f:.]+)\](?::(\d{1,5}))?$/.exec(h) ?? /^([^:[\]\s/@]+)(?::(\d{1,5}))?$/.exec(h);
  return m?.[1];
}

/** Pure: may a request with this Host header be served by a proxy bound to `boundHost`? */
export function isAllowedHost(header: string | undefined, boundHost: string): boolean {
  if (header === undefined) return false;
  if (isWildcardHost(boundHost)) return true; // api_key is mandatory there (assertSafeBinding): the key is the defence
  const name = hostnameOf(header);
  if (name === undefined) return false;
  if (name === 'localhost' || isLoopbackHost(name)) return true;
  return name === boundHost.replace(/^\[|\]$/g, '').toLowerCase();
}

/**
 * DNS rebinding: a page on evil.example re-points its name at 127.0.0.1 and
 * then talks to us as "same origin". The browser still sends `Host: evil.example`.
 */
export function hostCheck(boundHost: string): RequestHandler {
  return (req, _res, next) => {
    const host = req.headers.host;
    // HTTP/1.1 requires one (RFC 9112 §3.2): a 400, whatever the binding.
    if (host === undefined && req.httpVersion !== '1.0') throw new InvalidRequestError('The request has no Host header', { code: 'host_required' });
    if (!isAllowedHost(host, boundHost)) {
      throw new ForbiddenError(
        `Host ${JSON.stringify(clip(host ?? '', 100))} is not allowed: use localhost, 127.0.0.1 or [::1]${isLoopbackHost(boundHost) ? '' : ` or ${boundHost}`}`,
        'host_not_allowed',
      );
    }
    next();
  };
}

/** The canonical form of an origin (`scheme://host[:port]`), or undefined when it is not one. */
export function normaliseOrigin(origin: string): string | undefined {
  try {
    const u = new URL(origin);
    return u.origin === 'null' ? `${u.protocol}//${u.host}` : u.origin;
  } catch {
    return undefined;
  }
}

const SIMPLE_TYPES = new Set(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
// What the OpenAI and Anthropic browser SDKs send.
const DEFAULT_ALLOW_HEADERS = 'authorization, content-type, x-api-key, x-request-id, anthropic-version, anthropic-beta, openai-organization, openai-project';
const EXPOSE_HEADERS = 'x-request-id, retry-after';

/**
 * Browsers: CORS only for origins listed in cors_origins; everything else that a
 * browser marks as cross-site is refused before it reaches a route.
 */
export function browserGuard(corsOrigins: readonly string[]): RequestHandler {
  const allowed = new Set(corsOrigins.map((o) => normaliseOrigin(o)).filter((o): o is string => o !== undefined));
  return (req, res, next) => {
    // No page may embed our responses (no-cors <script>/<img> reads).
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('cross-origin-resource-policy', 'same-origin');
    const origin = req.headers.origin;
    // The dashboard's own requests (its POSTs carry an Origin): same origin as the Host that hostCheck let in.
    if (origin !== undefined && isSameOrigin(origin, req.headers.host)) {
      writeChecks(req.method, req.headers['content-type']);
      next();
      return;
    }
    if (origin !== undefined) {
      const canonical = normaliseOrigin(origin);
      if (canonical === undefined || !allowed.has(canonical)) {
        throw new ForbiddenError(
          `Cross-origin request from ${JSON.stringify(clip(origin, 100))} refused: add the origin to cors_origins to allow it`,
          'origin_not_allowed',
        );
      }
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'Origin');
      res.setHeader('access-control-expose-headers', EXPOSE_HEADERS);
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
        const requested = req.headers['access-control-request-headers'];
        res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
        res.setHeader('access-control-allow-headers', requested && /^[A-Za-z0-9_, -]{1,1000}$/.test(requested) ? requested : DEFAULT_ALLOW_HEADERS);
        res.setHeader('access-control-max-age', '600');
        res.status(204).end();
        return;
      }
    } else {
      // A no-cors request (an <img>, a form, a link) carries no Origin on GET, but modern browsers say where it came from.
      const site = req.headers['sec-fetch-site'];
      if (site === 'cross-site' || site === 'same-site') throw new ForbiddenError('Cross-site browser request refused', 'origin_not_allowed');
    }
    writeChecks(req.method, req.headers['content-type']);
    next();
  };
}

/** What every request still has to pass once its origin is accepted: no stray OPTIONS, no simple content type on a write. */
function writeChecks(method: string, contentType?: string): void {
  if (method === 'OPTIONS') {
    // Only a CORS preflight (answered above) means something here; any other OPTIONS is refused.
    throw new InvalidRequestError('OPTIONS is only answered as a CORS preflight from an origin in cors_origins', { code: 'method_not_allowed', status: 405 });
  }
  if (!SAFE_METHODS.has(method)) {
    // A page may POST text/plain or a form without a preflight: never let such a body near a route.
    const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (SIMPLE_TYPES.has(type)) {
      throw new InvalidRequestError('Content-Type must be application/json', { code: 'unsupported_media_type', status: 415 });
    }
  }
}

/** Pure: is `origin` this server's own (`http://` + the Host header the request came with)? */
export function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  const canonical = normaliseOrigin(origin);
  return canonical !== undefined && canonical === normaliseOrigin(`http://${host}`);
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * The credentials a request presents: `Authorization: Bearer …` (OpenAI SDKs), `x-api-key`
 * (Anthropic SDKs), and `Authorization: Basic` with the key as password (a browser on the dashboard).
 */
export function presentedKeys(headers: { authorization?: string; 'x-api-key'?: string | string[] }): string[] {
  const out: string[] = [];
  const bearer = /^Bearer\s+(\S.*)$/i.exec(headers.authorization ?? '');
  if (bearer?.[1]) out.push(bearer[1].trim());
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(headers.authorization ?? '');
  if (basic?.[1]) {
    const pair = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = pair.indexOf(':');
    if (colon >= 0 && colon < pair.length - 1) out.push(pair.slice(colon + 1));
  }
  const x = headers['x-api-key'];
  if (typeof x === 'string' && x !== '') out.push(x.trim());
  return out;
}

/** Constant-time (for equal-length digests, which sha256 makes them) check of presented keys against the configured one. */
export function keyMatches(presented: readonly string[], expected: Buffer): boolean {
  let ok = false;
  // Compare every candidate so the time does not say which header held the key.
  for (const k of presented) ok = timingSafeEqual(digest(k), expected) || ok;
  return ok;
}

/**
 * `api_key` set: every route but the table's `open` ones (/health) needs it; unknown paths too.
 * Not set: whatever key a client sends is ignored. `authOf` is the matched route's auth (routes/table.ts).
 */
export function apiKeyAuth(apiKey: string | undefined, authOf: (req: Request) => RouteAuth | null): RequestHandler {
  if (!apiKey) return (_req, _res, next) => next();
  const expected = digest(apiKey);
  return (req, res, next) => {
    const auth = authOf(req);
    if (auth === 'open' && (req.method === 'GET' || req.method === 'HEAD')) {
      next();
      return;
    }
    const presented = presentedKeys(req.headers);
    if (!keyMatches(presented, expected)) {
      // The dashboard's page: a browser asks for the key (Basic) and sends it with the page's requests.
      res.setHeader('www-authenticate', auth === 'page' ? 'Basic realm="github-copilot-svcs", charset="UTF-8"' : 'Bearer realm="github-copilot-svcs"');
      throw new UnauthorizedError(
        presented.length === 0
          ? 'Missing API key: send it as "Authorization: Bearer <api_key>" or "x-api-key: <api_key>"'
          : 'Invalid API key',
      );
    }
    next();
  };
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
