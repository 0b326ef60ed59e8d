/**
 * The token manager's contract with the rest of the process. One manager per
 * process owns the tokens; everything else asks it.
 */

import type { CopilotTokenSource } from '../upstream/token-source.ts';
import type { DeviceCodePrompt } from './device-flow.ts';
import type { TokenSnapshot } from './snapshot.ts';

export type { OAuthApp } from '../config/schema.ts';
export { HEALTH_TEXT, type TokenHealth, type TokenSnapshot, type TokenState } from './snapshot.ts';

export type { CopilotAuth } from '../upstream/token-source.ts';

export interface TokenManager extends CopilotTokenSource {
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
  /** Start a device flow (single-flight); `onCode` gets each code. Resolves when signed in, cancelled or failed. Absent where no sign-in can run. */
  signIn?(opts?: { onCode?: (prompt: DeviceCodePrompt) => void }): Promise<TokenSnapshot>;
  cancelSignIn?(): void;
  /** Cancel a pending sign-in and remove the tokens from memory and the store. Absent where no store is held. */
  signOut?(): Promise<TokenSnapshot>;
}
