import * as z from 'zod';
import { OAUTH_APPS } from '../config/schema.ts';

/**
 * The token-free view of the token manager: one schema, every side. The tray
 * gets it over IPC, `/health` and `status --json` print it as `tokenJson()`,
 * and the CLI reads a running proxy's `/health` back with `tokenJsonSchema`.
 * Nothing here ever holds a token.
 */

export const TOKEN_STATES = ['not_signed_in', 'ok', 'refreshing', 'needs_auth', 'error'] as const;
export const TOKEN_HEALTHS = ['healthy', 'refresh_soon', 'needs_refresh', 'not_signed_in'] as const;
export const TOKEN_STORES = ['keychain', 'file', 'env', 'none'] as const;

export type TokenState = (typeof TOKEN_STATES)[number];
/** Same words in CLI, tray and /health. */
export type TokenHealth = (typeof TOKEN_HEALTHS)[number];

/** The words alone, where the line already carries its own mark (doctor). */
export const HEALTH_WORDS: Record<TokenHealth, string> = {
  healthy: 'Token is healthy',
  refresh_soon: 'Token will be refreshed soon',
  needs_refresh: 'Token needs refresh',
  not_signed_in: 'Not signed in',
};

const HEALTH_MARK: Record<TokenHealth, string> = { healthy: '✅', refresh_soon: '⚠️', needs_refresh: '❌', not_signed_in: '❌' };

export const HEALTH_TEXT: Record<TokenHealth, string> = {
  healthy: `${HEALTH_MARK.healthy} ${HEALTH_WORDS.healthy}`,
  refresh_soon: `${HEALTH_MARK.refresh_soon} ${HEALTH_WORDS.refresh_soon}`,
  needs_refresh: `${HEALTH_MARK.needs_refresh} ${HEALTH_WORDS.needs_refresh}`,
  not_signed_in: `${HEALTH_MARK.not_signed_in} ${HEALTH_WORDS.not_signed_in}`,
};

export const tokenSnapshotSchema = z.object({
  state: z.enum(TOKEN_STATES),
  health: z.enum(TOKEN_HEALTHS),
  /** Unix seconds when the Copilot token expires; null when none (or opencode app: no expiry). */
  expiresAt: z.number().nullable(),
  /** Seconds between refreshes as Copilot said (`refresh_in`), null when unknown. */
  refreshIn: z.number().nullable(),
  hasGithubToken: z.boolean(),
  oauthApp: z.enum(OAUTH_APPS),
  store: z.enum(TOKEN_STORES),
  apiBase: z.string(),
  /** Last refresh error message (token-free), if any. */
  lastError: z.string().nullable(),
  /** While a device flow started by the manager waits for the user (state needs_auth). expiresAt in unix ms. */
  pendingSignIn: z.object({ verificationUri: z.string(), userCode: z.string(), expiresAt: z.number() }).nullable(),
});
export type TokenSnapshot = z.infer<typeof tokenSnapshotSchema>;

/** The one "signed in" test: a GitHub token that GitHub has not rejected. */
export function isSignedIn(s: Pick<TokenSnapshot, 'hasGithubToken' | 'state'>): boolean {
  return s.hasGithubToken && s.state !== 'needs_auth';
}

/** The health line with what to do next when there is something to do. */
export function healthSentence(s: Pick<TokenSnapshot, 'health' | 'state' | 'hasGithubToken'>, argv0 = 'github-copilot-svcs'): string {
  const text = HEALTH_TEXT[s.health];
  return isSignedIn(s) ? text : `${text} — run '${argv0} auth'`;
}

/** The snapshot as JSON for scripts and other processes: `/health`'s `token` object and the token part of `status --json`. */
export const tokenJsonSchema = z.object({
  state: z.enum(TOKEN_STATES),
  health: z.enum(TOKEN_HEALTHS),
  health_text: z.string(),
  signed_in: z.boolean(),
  expires_at: z.number().nullable(),
  expires_in_s: z.number().nullable(),
  refresh_in: z.number().nullable(),
  has_github_token: z.boolean(),
  oauth_app: z.enum(OAUTH_APPS),
  store: z.enum(TOKEN_STORES),
  api_base: z.string(),
  last_error: z.string().nullable(),
  // The user code is shown to the user anyway; it is not a credential by itself.
  sign_in: z.object({ verification_uri: z.string(), user_code: z.string(), expires_at: z.number() }).nullable(),
});
export type TokenJson = z.infer<typeof tokenJsonSchema>;

export function tokenJson(s: TokenSnapshot, nowSec: number): TokenJson {
  return {
    state: s.state,
    health: s.health,
    health_text: HEALTH_TEXT[s.health],
    signed_in: isSignedIn(s),
    expires_at: s.expiresAt,
    expires_in_s: s.expiresAt === null ? null : s.expiresAt - nowSec,
    refresh_in: s.refreshIn,
    has_github_token: s.hasGithubToken,
    oauth_app: s.oauthApp,
    store: s.store,
    api_base: s.apiBase,
    last_error: s.lastError,
    sign_in: s.pendingSignIn
      ? { verification_uri: s.pendingSignIn.verificationUri, user_code: s.pendingSignIn.userCode, expires_at: s.pendingSignIn.expiresAt }
      : null,
  };
}

/** Inverse of tokenJson (a running proxy's /health read by the CLI). */
export function snapshotFromJson(t: TokenJson): TokenSnapshot {
  return {
    state: t.state,
    health: t.health,
    expiresAt: t.expires_at,
    refreshIn: t.refresh_in,
    hasGithubToken: t.has_github_token,
    oauthApp: t.oauth_app,
    store: t.store,
    apiBase: t.api_base,
    lastError: t.last_error,
    pendingSignIn: t.sign_in ? { verificationUri: t.sign_in.verification_uri, userCode: t.sign_in.user_code, expiresAt: t.sign_in.expires_at } : null,
  };
}
