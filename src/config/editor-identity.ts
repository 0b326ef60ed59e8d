/**
 * The editor identity Copilot expects. A missing Editor-Version or
 * Copilot-Integration-Id gets 400; a too-old editor version gets 466. Values
 * follow VS Code's Copilot Chat extension; the Go tool's `headers` block in
 * config.json overrides them (e.g. a newer editor_version after a 466).
 */
export interface EditorIdentity {
  user_agent: string;
  editor_version: string;
  editor_plugin_version: string;
  copilot_integration_id: string;
  openai_intent: string;
}

export const DEFAULT_EDITOR_IDENTITY: EditorIdentity = {
  user_agent: 'GitHubCopilotChat/0.31.2',
  editor_version: 'vscode/1.104.1',
  editor_plugin_version: 'copilot-chat/0.31.2',
  copilot_integration_id: 'vscode-chat',
  openai_intent: 'conversation-edits',
};

export const EDITOR_IDENTITY_KEYS = Object.keys(DEFAULT_EDITOR_IDENTITY) as ReadonlyArray<keyof EditorIdentity>;
