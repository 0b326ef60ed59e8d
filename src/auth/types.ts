/**
 * The token manager's contract with the rest of the process. One manager per
 * process owns the tokens; everything else asks it.
 */

export type OAuthApp = 'vscode' | 'opencode';

/** What a Copilot API call needs. */
export interface CopilotAuth {
  /** Bearer for the Copilot API: the exchanged Copilot token (vscode app) or the GitHub token (opencode app). */
  token: string;
  /** API base URL without trailing slash (config override, token `endpoints.api`, or the default). */
  apiBase: string;
}

/** Same words in CLI, tray and /health. */
export type TokenHealth = 'healthy' | 'refresh_soon' | 'needs_refresh' | 'not_signed_in';

export const HEALTH_TEXT: Record<TokenHealth, string> = {
  healthy: '✅ Token is healthy',
  refresh_soon: '⚠️ Token will be refreshed soon',
  needs_refresh: '❌ Token needs refresh',
  not_signed_in: '❌ Not signed in',
};

export type TokenState =
  | 'not_signed_in' // no GitHub token at all
  | 'ok' // usable token
  | 'refreshing'
  | 'needs_auth' // GitHub rejected the GitHub token: a new sign-in is needed
  | 'error'; // refresh failing for another reason (network...), retrying

/** A token-free view of the manager's state: safe to log, send over IPC, put in /health. */
export interface TokenSnapshot {
  state: TokenState;
  health: TokenHealth;
  /** Unix seconds when the Copilot token expires; null when none (or opencode app: no expiry). */
  expiresAt: number | null;
  /** Seconds between refreshes as Copilot said (`refresh_in`), null when unknown. */
  refreshIn: number | null;
  hasGithubToken: boolean;
  oauthApp: OAuthApp;
  store: 'keychain' | 'file' | 'env' | 'none';
  apiBase: string;
  /** Last refresh error message (token-free), if any. */
  lastError: string | null;
  /** While a device flow started by the manager waits for the user (state needs_auth). */
  pendingSignIn: { verificationUri: string; userCode: string; expiresAt: number } | null;
}

export interface TokenManager {
  /** A valid Copilot auth, refreshing first if needed (single-flight). Throws AuthRequiredError when not signed in. */
  getAuth(signal?: AbortSignal): Promise<CopilotAuth>;
  /** The Copilot API answered 401 with `failed.token`: refresh once (single-flight) and return the new auth. */
  handleUnauthorized(failed: CopilotAuth): Promise<CopilotAuth>;
  /** Force a refresh now (CLI `refresh`, tray menu). */
  refresh(): Promise<TokenSnapshot>;
  /** The GitHub token, for GitHub API calls such as /copilot_internal/user. Throws AuthRequiredError. */
  getGithubToken(): Promise<string>;
  snapshot(): TokenSnapshot;
  onChange(listener: (s: TokenSnapshot) => void): () => void;
  /** Start proactive refresh timers. */
  start(): Promise<void>;
  /** Clear timers; pending calls settle. Idempotent. */
  stop(): void;
}
