/**
 * How each client is pointed at the proxy: one source for the README's
 * "Works with" blocks (checked by test/clients/setup.test.ts), the dashboard's
 * copyable snippets, and the configurations the real-client tests write
 * (test/clients/clients.test.ts), so what we show is what was tested. Pure.
 */

/** The clients `setup` writes a config file for (and the tray's submenu and the dashboard's buttons offer). */
export const SETUP_FILE_CLIENTS = ['claude-code', 'codex', 'opencode'] as const;
export type FileClient = (typeof SETUP_FILE_CLIENTS)[number];
/** Every `setup` target: those, and `env` (exports only). */
export const SETUP_CLIENTS = [...SETUP_FILE_CLIENTS, 'env'] as const;
export type SetupClient = (typeof SETUP_CLIENTS)[number];

/** `http://127.0.0.1:8081` from the proxy -> `http://localhost:8081/`, the dashboard in the browser. */
export function dashboardUrlFor(url: string): string {
  return baseUrlFor(url).replace(/\/v1$/, '/');
}

/** `http://127.0.0.1:8081` from the proxy -> `http://localhost:8081/v1`, the base URL clients paste. */
export function baseUrlFor(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (host === '127.0.0.1' || host === '::1' || host === 'localhost' || host === '0.0.0.0' || host === '::') u.hostname = 'localhost';
    const pathname = u.pathname.replace(/\/+$/, '');
    return `${u.protocol}//${u.host}${pathname.endsWith('/v1') ? pathname : `${pathname}/v1`}`;
  } catch {
    return url;
  }
}

export interface SetupOptions {
  /** The proxy's origin, e.g. `http://localhost:8081` (no `/v1`). */
  origin: string;
  /** What clients send as their key: `dummy` unless `api_key` is set. */
  key?: string;
}

export interface ClientSnippet {
  id: 'env' | 'claude-code' | 'codex' | 'opencode' | 'openai-python' | 'openai-node';
  title: string;
  /** Where it goes: a file path, or a shell. */
  where: string;
  lang: 'sh' | 'toml' | 'json' | 'python' | 'js';
  text: string;
}

/** Codex's `config.toml`; `topLevel` lines (e.g. approval_policy) must come before the provider table. */
export function codexConfigToml(o: { baseUrl: string; model: string; wireApi: 'responses' | 'chat'; topLevel?: readonly string[]; keyHint?: boolean }): string {
  return [
    `model = "${o.model}"`,
    'model_provider = "copilot_proxy"',
    ...(o.topLevel ?? []),
    '',
    '[model_providers.copilot_proxy]',
    'name = "GitHub Copilot via github-copilot-svcs"',
    `base_url = "${o.baseUrl}"`,
    `env_key = "COPILOT_PROXY_KEY"${o.keyHint ? '   # any value, e.g. export COPILOT_PROXY_KEY=dummy' : ''}`,
    `wire_api = "${o.wireApi}"`,
    '',
  ].join('\n');
}

/** opencode's providers: an OpenAI-compatible one for every model, and its Anthropic provider pointed here too. */
export function opencodeProviders(o: { baseUrl: string; key: string }): Record<string, unknown> {
  return {
    'copilot-proxy': {
      npm: '@ai-sdk/openai-compatible',
      name: 'GitHub Copilot (github-copilot-svcs)',
      options: { baseURL: o.baseUrl, apiKey: o.key },
      models: { 'gpt-4.1': {}, 'gpt-5-codex': {}, 'claude-sonnet-4': {} },
    },
    anthropic: { options: { baseURL: o.baseUrl, apiKey: o.key }, models: { 'claude-sonnet-4': {} } },
  };
}

/** Claude Code's environment: the base URL has no `/v1`. */
export function claudeCodeEnv(o: { origin: string; key: string }): Record<string, string> {
  return { ANTHROPIC_BASE_URL: o.origin, ANTHROPIC_AUTH_TOKEN: o.key };
}

/** opencode.json as the README and dashboard show it: providers only, two-space JSON with one-line leaves. */
function opencodeJson(baseUrl: string, key: string): string {
  const p = opencodeProviders({ baseUrl, key });
  const lines = ['{', '  "provider": {'];
  const entries = Object.entries(p);
  entries.forEach(([name, v], i) => {
    const comma = i < entries.length - 1 ? ',' : '';
    if (typeof v !== 'object' || v === null) return;
    const fields = Object.entries(v);
    if (name === 'anthropic') {
      lines.push(`    ${JSON.stringify(name)}: { ${fields.map(([k, x]) => `${JSON.stringify(k)}: ${inline(x)}`).join(', ')} }${comma}`);
      return;
    }
    lines.push(`    ${JSON.stringify(name)}: {`);
    fields.forEach(([k, x], j) => lines.push(`      ${JSON.stringify(k)}: ${inline(x)}${j < fields.length - 1 ? ',' : ''}`));
    lines.push(`    }${comma}`);
  });
  lines.push('  }', '}');
  return lines.join('\n');
}

/** JSON on one line with spaces after `:` and `,`, as people write it by hand. */
function inline(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(inline).join(', ')}]`;
  if (typeof v === 'object' && v !== null) {
    const e = Object.entries(v);
    return e.length === 0 ? '{}' : `{ ${e.map(([k, x]) => `${JSON.stringify(k)}: ${inline(x)}`).join(', ')} }`;
  }
  return JSON.stringify(v);
}

/** Every snippet, for this proxy's address and key. */
export function clientSnippets(o: SetupOptions): ClientSnippet[] {
  const key = o.key ?? 'dummy';
  const v1 = `${o.origin}/v1`;
  const claude = claudeCodeEnv({ origin: o.origin, key });
  return [
    {
      id: 'env',
      title: 'Most OpenAI clients',
      where: 'shell',
      lang: 'sh',
      text: `export OPENAI_BASE_URL=${v1}\nexport OPENAI_API_KEY=${key}`,
    },
    {
      id: 'claude-code',
      title: 'Claude Code',
      where: 'shell',
      lang: 'sh',
      text: `${Object.entries(claude)
        .map(([k, v]) => `export ${k}=${v}`)
        .join('\n')}\nclaude --model claude-sonnet-4      # any Copilot model works; non-Claude models are translated`,
    },
    {
      id: 'codex',
      title: 'Codex CLI',
      where: '~/.codex/config.toml',
      lang: 'toml',
      text: codexConfigToml({ baseUrl: v1, model: 'gpt-5-codex', wireApi: 'responses', keyHint: true }).trimEnd(),
    },
    {
      id: 'opencode',
      title: 'opencode',
      where: '~/.config/opencode/opencode.json',
      lang: 'json',
      text: opencodeJson(v1, key),
    },
    {
      id: 'openai-python',
      title: 'OpenAI SDK, Python',
      where: 'python',
      lang: 'python',
      text: `from openai import OpenAI\nclient = OpenAI(base_url="${v1}", api_key="${key}")\nprint(client.chat.completions.create(model="gpt-4.1", messages=[{"role": "user", "content": "Hi"}]).choices[0].message.content)`,
    },
    {
      id: 'openai-node',
      title: 'OpenAI SDK, JavaScript',
      where: 'node',
      lang: 'js',
      text: `import OpenAI from 'openai';\nconst client = new OpenAI({ baseURL: '${v1}', apiKey: '${key}' });\nconst r = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'Hi' }] });\nconsole.log(r.choices[0].message.content);`,
    },
  ];
}
