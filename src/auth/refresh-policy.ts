import type { OAuthApp } from '../config/schema.ts';
import type { TokenHealth } from './snapshot.ts';

/**
 * When the Copilot token is refreshed and how healthy it is: pure functions of
 * the token's times (DESIGN.md: refresh at max(20 % of the lifetime, 5 min)
 * before expiry; retries after 2 s, 8 s, 18 s).
 */

/** Failed refreshes are retried after these delays (DESIGN.md). */
export const REFRESH_RETRY_DELAYS_MS = [2_000, 8_000, 18_000] as const;
/** After the retries are spent, the next attempt comes this much later (not a storm). */
export const RETRY_LATER_MS = 60_000;
/** A token with less than this left is not handed out: the request could outlive it. */
export const MIN_VALID_SEC = 30;
/** Assumed lifetime when the store does not know when the token was obtained (Copilot's ~30 min). */
export const DEFAULT_LIFETIME_SEC = 1800;

/** max(20 % of the lifetime, 5 min), in seconds. */
export function refreshThresholdSec(lifetimeSec: number): number {
  return Math.max(0.2 * lifetimeSec, 300);
}

/** Token health from expiry alone (same words in CLI, tray and /health). */
export function computeHealth(input: {
  hasGithubToken: boolean;
  needsAuth: boolean;
  oauthApp: OAuthApp;
  expiresAt: number | null;
  obtainedAt: number | null;
  nowSec: number;
}): TokenHealth {
  if (!input.hasGithubToken) return 'not_signed_in';
  if (input.needsAuth) return 'needs_refresh';
  if (input.oauthApp === 'opencode') return 'healthy';
  if (input.expiresAt === null) return 'needs_refresh';
  const remaining = input.expiresAt - input.nowSec;
  if (remaining <= 0) return 'needs_refresh';
  const lifetime = input.obtainedAt !== null && input.expiresAt > input.obtainedAt ? input.expiresAt - input.obtainedAt : DEFAULT_LIFETIME_SEC;
  return remaining > refreshThresholdSec(lifetime) ? 'healthy' : 'refresh_soon';
}

/**
 * When to refresh (unix s): whichever comes first of `refresh_in` after the
 * token was obtained and the threshold before expiry, but never sooner than
 * half the lifetime (a token shorter-lived than the threshold must not spin).
 */
export function refreshAtSec(t: { expiresAt: number; obtainedAt: number | null; refreshIn: number | null }): number {
  const obtained = t.obtainedAt ?? t.expiresAt - DEFAULT_LIFETIME_SEC;
  const lifetime = Math.max(0, t.expiresAt - obtained);
  let at = t.expiresAt - refreshThresholdSec(lifetime);
  if (t.refreshIn !== null && t.refreshIn > 0) at = Math.min(at, obtained + t.refreshIn);
  return Math.max(at, obtained + lifetime / 2);
}

