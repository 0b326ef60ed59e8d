import { DEFAULT_EDITOR_IDENTITY, type EditorIdentity } from '../config/editor-identity.ts';

export const GITHUB_API_VERSION = '2025-05-01';

/** The editor headers GitHub and Copilot want on every call. */
export function editorHeaders(id: EditorIdentity = DEFAULT_EDITOR_IDENTITY): Record<string, string> {
  return {
    'editor-version': id.editor_version,
    'editor-plugin-version': id.editor_plugin_version,
    'user-agent': id.user_agent,
  };
}
