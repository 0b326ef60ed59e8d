/**
 * What the upstream layer needs of the token manager, and nothing more: the
 * auth for one Copilot call, and a refresh after a 401. upstream/ never
 * imports auth/; auth/ implements this.
 */

/** What a Copilot API call needs. */
export interface CopilotAuth {
  /** Bearer for the Copilot API: the exchanged Copilot token (vscode app) or the GitHub token (opencode app). */
  token: string;
  /** API base URL without trailing slash (config override, token `endpoints.api`, or the default). */
  apiBase: string;
}

export interface CopilotTokenSource {
  /** A valid Copilot auth, refreshing first if needed (single-flight). Throws AuthRequiredError when not signed in. */
  getAuth(signal?: AbortSignal): Promise<CopilotAuth>;
  /** The Copilot API answered 401 with `failed.token`: refresh once (single-flight) and return the new auth. */
  handleUnauthorized(failed: CopilotAuth): Promise<CopilotAuth>;
}
