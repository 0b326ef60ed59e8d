import type { ResolvedConfig } from '../config/schema.ts';
import type { StoredTokens } from './token-store.ts';

/**
 * Which tokens a process starts from, decided purely from what it found: a
 * GitHub token in the environment wins (used, never written), else the
 * store's tokens when they are for this GitHub (enterprise) instance. A newer
 * Copilot token the process already holds for the same GitHub token is kept.
 */
export interface TokenChoice {
  tokens: StoredTokens | null;
  fromEnv: boolean;
  /** Why the stored tokens were not used, for the user. */
  problem: string | null;
  /** Worth a warning, nothing more. */
  note: string | null;
}

export function chooseTokens(input: {
  envToken: string | undefined;
  stored: StoredTokens | null;
  held: StoredTokens | null;
  config: Pick<ResolvedConfig, 'oauth_app' | 'enterprise_url'>;
}): TokenChoice {
  const { envToken, stored, held, config } = input;
  if (envToken) {
    const keep = held && held.github_token === envToken ? held : null;
    return {
      tokens: keep ?? { github_token: envToken, oauth_app: config.oauth_app, ...(config.enterprise_url ? { enterprise_url: config.enterprise_url } : {}) },
      fromEnv: true,
      problem: null,
      note: null,
    };
  }
  if (stored && (stored.enterprise_url ?? undefined) !== (config.enterprise_url ?? undefined)) {
    return {
      tokens: null,
      fromEnv: false,
      problem: `The stored sign-in is for ${stored.enterprise_url ?? 'github.com'}, not ${config.enterprise_url ?? 'github.com'}; run \`github-copilot-svcs auth\``,
      note: null,
    };
  }
  const note = stored && stored.oauth_app !== config.oauth_app ? `The stored GitHub token comes from the ${stored.oauth_app} app, not ${config.oauth_app}; using it as a ${stored.oauth_app} token` : null;
  // Another process may have exchanged a newer token: keep ours if it is.
  const newer = stored && held && stored.github_token === held.github_token && (held.expires_at ?? 0) > (stored.expires_at ?? 0);
  return { tokens: newer ? held : stored, fromEnv: false, problem: null, note };
}
