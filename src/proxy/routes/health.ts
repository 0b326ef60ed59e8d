import { Router } from 'express';
import { HEALTH_TEXT, type TokenSnapshot } from '../../auth/types.ts';
import type { GatewayState } from '../../upstream/gateway.ts';
import type { ProxyContext } from '../context.ts';

export interface HealthBody {
  status: 'ok' | 'degraded' | 'needs_auth';
  version: string;
  uptime_s: number;
  token: {
    state: TokenSnapshot['state'];
    health: TokenSnapshot['health'];
    health_text: string;
    expires_at: number | null;
    expires_in_s: number | null;
    refresh_in: number | null;
    has_github_token: boolean;
    oauth_app: TokenSnapshot['oauthApp'];
    store: TokenSnapshot['store'];
    api_base: string;
    last_error: string | null;
    sign_in: { verification_uri: string; user_code: string } | null;
  };
  upstream: GatewayState;
  in_flight: number;
  in_flight_streams: number;
  requests_total: number;
}

/** Pure: the /health body. Token-free by construction (the snapshot holds no token). */
export function healthBody(ctx: ProxyContext): HealthBody {
  const s = ctx.tokens.snapshot();
  const nowS = Math.floor(ctx.now() / 1000);
  const upstream = ctx.gateway.state();
  const status = s.state === 'needs_auth' || s.state === 'not_signed_in' ? 'needs_auth' : upstream.circuit !== 'closed' || s.health === 'needs_refresh' ? 'degraded' : 'ok';
  return {
    status,
    version: ctx.version,
    uptime_s: Math.floor((ctx.now() - ctx.startedAt) / 1000),
    token: {
      state: s.state,
      health: s.health,
      health_text: HEALTH_TEXT[s.health],
      expires_at: s.expiresAt,
      expires_in_s: s.expiresAt === null ? null : s.expiresAt - nowS,
      refresh_in: s.refreshIn,
      has_github_token: s.hasGithubToken,
      oauth_app: s.oauthApp,
      store: s.store,
      api_base: s.apiBase,
      last_error: s.lastError,
      // The user code is shown to the user anyway; it is not a credential by itself.
      sign_in: s.pendingSignIn ? { verification_uri: s.pendingSignIn.verificationUri, user_code: s.pendingSignIn.userCode } : null,
    },
    upstream,
    in_flight: ctx.stats.inFlight,
    in_flight_streams: ctx.stats.inFlightStreams,
    requests_total: ctx.stats.requestsTotal,
  };
}

export function healthRoutes(ctx: ProxyContext): Router {
  const router = Router();
  router.get(['/health', '/v1/health'], (_req, res) => {
    res.set('cache-control', 'no-store').json(healthBody(ctx));
  });
  return router;
}
