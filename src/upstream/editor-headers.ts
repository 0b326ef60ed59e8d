/**
 * The editor identity Copilot expects. A missing Editor-Version or
 * Copilot-Integration-Id gets 403; a too-old editor version gets 466.
 * Values follow VS Code's Copilot Chat extension.
 */
export const EDITOR_VERSION = 'vscode/1.104.1';
export const EDITOR_PLUGIN_VERSION = 'copilot-chat/0.31.2';
export const COPILOT_USER_AGENT = 'GitHubCopilotChat/0.31.2';
export const COPILOT_INTEGRATION_ID = 'vscode-chat';
export const GITHUB_API_VERSION = '2025-05-01';

export function editorHeaders(): Record<string, string> {
  return {
    'editor-version': EDITOR_VERSION,
    'editor-plugin-version': EDITOR_PLUGIN_VERSION,
    'user-agent': COPILOT_USER_AGENT,
  };
}
