import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { claudeCodeEnv, codexConfigToml, opencodeProviders, type FileClient, type SetupClient } from './setup.ts';

/**
 * What `setup <client>` writes into each client's own config file, merged with
 * what is there. The shapes come from setup.ts, the one source the README's
 * and the dashboard's snippets also use. Pure: text in, text out.
 */

export { SETUP_CLIENTS, SETUP_FILE_CLIENTS, type FileClient, type SetupClient } from './setup.ts';

/** Codex's profile file, beside its config.toml. */
const CODEX_PROFILE_FILE = 'copilot.config.toml';

export interface ClientTarget {
  /** `http://localhost:8081` (no /v1). */
  origin: string;
  /** What the client sends as its key: the api_key, or `dummy`. */
  key: string;
  model: string;
}

/** Every file `setup` writes for `client` (Codex: its config.toml and the profile beside it). Pure. */
export function clientConfigFiles(client: FileClient, env: NodeJS.ProcessEnv, home: string): string[] {
  const main = clientConfigPath(client, env, home);
  return client === 'codex' ? [main, path.join(path.dirname(main), CODEX_PROFILE_FILE)] : [main];
}

/** Where each client reads its config, honouring its own override variable. Pure. */
export function clientConfigPath(client: FileClient, env: NodeJS.ProcessEnv, home: string): string {
  const abs = (v: string | undefined) => (v && path.isAbsolute(v) ? v : undefined);
  switch (client) {
    case 'claude-code':
      return path.join(abs(env.CLAUDE_CONFIG_DIR) ?? path.join(home, '.claude'), 'settings.json');
    case 'codex':
      return path.join(abs(env.CODEX_HOME) ?? path.join(home, '.codex'), 'config.toml');
    case 'opencode':
      return path.join(abs(env.XDG_CONFIG_HOME) ?? path.join(home, '.config'), 'opencode', 'opencode.json');
  }
}

/** The model each client gets when none is asked for: the newest of its kind that Copilot lists. Pure. */
export function defaultModel(client: SetupClient, ids: readonly string[]): string {
  const newest = (re: RegExp, fallback: string) =>
    ids
      .filter((id) => re.test(id))
      .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }))[0] ?? fallback;
  switch (client) {
    case 'claude-code':
      return newest(/^claude-sonnet-[\d.]+$/, 'claude-sonnet-4');
    case 'codex':
      return newest(/^gpt-5(\.\d+)?-codex$/, 'gpt-5-codex');
    default:
      return newest(/^claude-sonnet-[\d.]+$/, 'gpt-4.1');
  }
}

function parseJsonObject(text: string, file: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${err instanceof Error ? err.message : String(err)}); fix it first, nothing was changed`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${file} does not hold a JSON object; nothing was changed`);
  return { ...v };
}

const objectAt = (o: Record<string, unknown>, key: string): Record<string, unknown> => {
  const v = Object.hasOwn(o, key) ? o[key] : undefined;
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...v } : {};
};

/** Claude Code's settings.json with our env block merged in (other keys and env vars kept). Pure. */
export function mergeClaudeSettings(text: string, t: ClientTarget, file = 'settings.json'): string {
  const o = parseJsonObject(text, file);
  o.env = { ...objectAt(o, 'env'), ...claudeCodeEnv({ origin: t.origin, key: t.key }), ANTHROPIC_MODEL: t.model };
  return `${JSON.stringify(o, null, 2)}\n`;
}

/** opencode.json with our provider merged in and the model set; other providers and keys kept. Pure. */
export function mergeOpencodeConfig(text: string, t: ClientTarget, file = 'opencode.json'): string {
  const o = parseJsonObject(text, file);
  if (!Object.hasOwn(o, '$schema')) o.$schema = 'https://opencode.ai/config.json';
  const ours = opencodeProviders({ baseUrl: `${t.origin}/v1`, key: t.key })['copilot-proxy'];
  const provider = objectAt(o, 'provider');
  const entry: Record<string, unknown> = typeof ours === 'object' && ours !== null ? { ...ours } : {};
  const models = objectAt(entry, 'models');
  entry.models = { ...models, [t.model]: {} };
  provider['copilot-proxy'] = entry;
  o.provider = provider;
  o.model = `copilot-proxy/${t.model}`;
  return `${JSON.stringify(o, null, 2)}\n`;
}

export const CODEX_BEGIN = '# >>> github-copilot-svcs: written by `setup codex` (the copilot profile is copilot.config.toml beside this file) >>>';
export const CODEX_END = '# <<< github-copilot-svcs <<<';

/**
 * Codex's config.toml with our provider in a marked block (replaced in place
 * on a re-run; the user's own keys untouched). The `copilot` profile that uses
 * it is its own file, `copilot.config.toml` (codexProfile): Codex 0.171
 * refuses a `[profiles.copilot]` table in config.toml ("legacy"), as the real
 * program told the real-client suite. So `codex --profile copilot` uses the
 * proxy and plain `codex` stays as it was. The result must parse as TOML, else
 * it throws and nothing is written. Pure.
 */
export function mergeCodexConfig(text: string, t: ClientTarget, file = 'config.toml'): string {
  const provider = codexConfigToml({ baseUrl: `${t.origin}/v1`, model: t.model, wireApi: 'responses' })
    .split('\n')
    .filter((l) => !/^(model|model_provider) = /.test(l) && !/^env_key = /.test(l))
    .join('\n')
    .trim();
  const block = [
    CODEX_BEGIN,
    provider,
    ...(t.key !== 'dummy' ? [`http_headers = { Authorization = "Bearer ${t.key}" }`] : []),
    CODEX_END,
  ].join('\n');
  const start = text.indexOf(CODEX_BEGIN);
  const end = text.indexOf(CODEX_END);
  let out: string;
  if (start >= 0 && end > start) out = `${text.slice(0, start)}${block}${text.slice(end + CODEX_END.length)}`;
  else out = `${text}${text === '' || text.endsWith('\n\n') ? '' : text.endsWith('\n') ? '\n' : '\n\n'}${block}\n`;
  try {
    parseToml(out);
  } catch (err) {
    throw new Error(`${file} would not be valid TOML with our block (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); it may already define [model_providers.copilot_proxy]. Nothing was changed`);
  }
  return out;
}

/** Codex's `copilot` profile file (all ours): the model and our provider. Pure. */
export function codexProfile(t: ClientTarget): string {
  return ['# Written by `github-copilot-svcs setup codex`: used by `codex --profile copilot`.', `model = "${t.model}"`, 'model_provider = "copilot_proxy"', ''].join('\n');
}

/** The exports for SDKs and IDE plugins (`setup env`). Pure. */
export function envExports(t: ClientTarget): string[] {
  return [
    `export OPENAI_BASE_URL=${t.origin}/v1`,
    `export OPENAI_API_KEY=${t.key}`,
    ...Object.entries(claudeCodeEnv({ origin: t.origin, key: t.key })).map(([k, v]) => `export ${k}=${v}`),
  ];
}

/** The new text of one of `client`'s files (clientConfigFiles). Pure. */
export function mergedConfig(client: FileClient, text: string, t: ClientTarget, file: string): string {
  switch (client) {
    case 'claude-code':
      return mergeClaudeSettings(text, t, file);
    case 'codex':
      return path.basename(file) === CODEX_PROFILE_FILE ? codexProfile(t) : mergeCodexConfig(text, t, file);
    case 'opencode':
      return mergeOpencodeConfig(text, t, file);
  }
}

/** How the user then runs the client. */
export const RUN_HINT: Record<FileClient, string> = {
  'claude-code': 'claude',
  codex: 'codex --profile copilot',
  opencode: 'opencode',
};
