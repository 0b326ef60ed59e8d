import type { RequestHandler } from '../http.ts';
import { isSignedIn, tokenJson } from '../../auth/snapshot.ts';
import type { HealthBody } from '../../ipc/bodies.ts';
import type { ProxyContext } from '../context.ts';

/** Pure: the /health body. Token-free by construction (the snapshot holds no token). */
export function healthBody(ctx: ProxyContext): HealthBody {
  const s = ctx.tokens.snapshot();
  const upstream = ctx.gateway.state();
  const status = !isSignedIn(s) ? 'needs_auth' : upstream.circuit !== 'closed' || upstream.limit !== null || s.health === 'needs_refresh' ? 'degraded' : 'ok';
  return {
    status,
    version: ctx.version,
    uptime_s: Math.floor((ctx.now() - ctx.startedAt) / 1000),
    token: tokenJson(s, Math.floor(ctx.now() / 1000)),
    upstream,
    in_flight: ctx.stats.inFlight,
    in_flight_streams: ctx.stats.inFlightStreams,
    requests_total: ctx.stats.requestsTotal,
    instance: { data_dir_id: ctx.instance.dataDirId, id: ctx.instance.id },
  };
}

export function healthHandler(ctx: ProxyContext): RequestHandler {
  return (_req, res) => {
    res.set('cache-control', 'no-store').json(healthBody(ctx));
  };
}
