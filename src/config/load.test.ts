import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { ConfigError } from '../errors.ts';
import { loadConfig } from './load.ts';
import { TIMEOUT_DEFAULTS } from './schema.ts';

const dirs: string[] = [];
function home(config?: unknown | string): NodeJS.ProcessEnv {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-config-'));
  dirs.push(dir);
  if (config !== undefined) fs.writeFileSync(path.join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return { GITHUB_COPILOT_SVCS_HOME: dir };
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('expected a ConfigError');
}
const problems = (fn: () => unknown): string[] => configError(fn).lines;
const warningsOf = (fn: () => unknown): string[] => configError(fn).warnings;

describe('loadConfig', () => {
  test('defaults with no config file, including the Go tool timeouts', () => {
    const c = loadConfig({ env: home() });
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8081);
    assert.equal(c.oauth_app, 'vscode');
    assert.equal(c.github_url, 'https://github.com');
    assert.equal(c.github_api_url, 'https://api.github.com');
    assert.equal(c.copilot_api_url, undefined);
    assert.equal(c.max_body_bytes, 5 * 1024 * 1024);
    assert.equal(c.debug_endpoints, true);
    assert.deepEqual(
      { http_client: c.timeouts.http_client, server_read: c.timeouts.server_read, server_write: c.timeouts.server_write, server_idle: c.timeouts.server_idle, proxy_context: c.timeouts.proxy_context, circuit_breaker: c.timeouts.circuit_breaker, keep_alive: c.timeouts.keep_alive, tls_handshake: c.timeouts.tls_handshake, dial_timeout: c.timeouts.dial_timeout, idle_conn_timeout: c.timeouts.idle_conn_timeout },
      { http_client: 300, server_read: 30, server_write: 300, server_idle: 120, proxy_context: 300, circuit_breaker: 30, keep_alive: 30, tls_handshake: 10, dial_timeout: 10, idle_conn_timeout: 90 },
    );
    assert.equal(c.sources.port, 'default');
  });

  test("reads a Go tool's config.json as it is, keeping tokens aside for migration", () => {
    const env = home({
      port: 9090,
      github_token: 'gho_legacytoken000000',
      copilot_token: 'tid=abc;exp=1',
      expires_at: 1_900_000_000,
      refresh_in: 1500,
      timeouts: { http_client: 120, proxy_context: 600 },
    });
    const c = loadConfig({ env });
    assert.equal(c.port, 9090);
    assert.equal(c.sources.port, 'file');
    assert.equal(c.timeouts.http_client, 120);
    assert.equal(c.timeouts.proxy_context, 600);
    assert.equal(c.timeouts.server_read, TIMEOUT_DEFAULTS.server_read);
    assert.equal(c.sources['timeouts.http_client'], 'file');
    assert.equal(c.legacy_tokens.github_token, 'gho_legacytoken000000');
    assert.equal(c.legacy_tokens.refresh_in, 1500);
  });

  test('a bad flag value names the flag as typed (auth --enterprise sets enterprise_url)', () => {
    const problems = (() => {
      try {
        loadConfig({ env: home({}), flags: { enterprise_url: 'https://x y' } });
        return [];
      } catch (e) {
        return e instanceof ConfigError ? e.lines : [];
      }
    })();
    assert.ok(problems.some((l) => l.includes('--enterprise') && !l.includes('--enterprise-url')), problems.join('\n'));
  });

  test('precedence: flag > env > file > default', () => {
    const env = { ...home({ port: 9000, log_level: 'warn', host: '127.0.0.2' }), GITHUB_COPILOT_SVCS_PORT: '9001', GITHUB_COPILOT_SVCS_LOG_LEVEL: 'debug' };
    const c = loadConfig({ env, flags: { port: 9002 } });
    assert.equal(c.port, 9002);
    assert.equal(c.sources.port, 'flag');
    assert.equal(c.log_level, 'debug');
    assert.equal(c.sources.log_level, 'env');
    assert.equal(c.host, '127.0.0.2');
    assert.equal(c.sources.host, 'file');
  });

  test('env vars for every key kind: numbers, lists, objects, nested timeouts', () => {
    const env = {
      ...home(),
      GITHUB_COPILOT_SVCS_CORS_ORIGINS: 'http://localhost:3000, http://127.0.0.1:5173',
      GITHUB_COPILOT_SVCS_MODEL_MAP: '{"gpt-4":"gpt-4.1"}',
      GITHUB_COPILOT_SVCS_TIMEOUTS_PROXY_CONTEXT: '42',
      GITHUB_COPILOT_SVCS_DEBUG_ENDPOINTS: 'false',
    };
    const c = loadConfig({ env });
    assert.deepEqual(c.cors_origins, ['http://localhost:3000', 'http://127.0.0.1:5173']);
    assert.deepEqual(c.model_map, { 'gpt-4': 'gpt-4.1' });
    assert.equal(c.timeouts.proxy_context, 42);
    assert.equal(c.sources['timeouts.proxy_context'], 'env');
    assert.equal(c.debug_endpoints, false);
  });

  test('timeouts.keep_alive is a TCP keep-alive period: negative (off) and 0 (the default) are values, not errors or "unset"', () => {
    const off = loadConfig({ env: home({ timeouts: { keep_alive: -1, idle_conn_timeout: 45 } }) });
    assert.equal(off.timeouts.keep_alive, -1);
    assert.equal(off.sources['timeouts.keep_alive'], 'file');
    assert.equal(off.timeouts.idle_conn_timeout, 45);
    const zero = loadConfig({ env: home({ timeouts: { keep_alive: 0 } }) });
    assert.equal(zero.timeouts.keep_alive, 0);
    assert.equal(zero.sources['timeouts.keep_alive'], 'file');
    const env = loadConfig({ env: { ...home(), GITHUB_COPILOT_SVCS_TIMEOUTS_KEEP_ALIVE: '-5' } });
    assert.equal(env.timeouts.keep_alive, -5);
    assert.equal(env.sources['timeouts.keep_alive'], 'env');
    // null is still "unset" (the Go tool writes every field), and the other timeouts keep 0 = unset.
    const unset = loadConfig({ env: home({ timeouts: { keep_alive: null, idle_conn_timeout: 0 } }) });
    assert.equal(unset.timeouts.keep_alive, TIMEOUT_DEFAULTS.keep_alive);
    assert.equal(unset.timeouts.idle_conn_timeout, TIMEOUT_DEFAULTS.idle_conn_timeout);
    const lines = problems(() => loadConfig({ env: home({ timeouts: { keep_alive: 1.5, idle_conn_timeout: -1 } }) }));
    assert.ok(lines.some((l) => /timeouts\.keep_alive: must be a whole number of seconds \(0 = the default, negative = off\)/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /timeouts\.idle_conn_timeout: must be > 0 \(got -1\)/.test(l)), lines.join('\n'));
  });

  test('enterprise_url derives the GHE URLs', () => {
    const c = loadConfig({ env: home({ enterprise_url: 'https://Company.ghe.com/' }) });
    assert.equal(c.enterprise_url, 'company.ghe.com');
    assert.equal(c.github_url, 'https://company.ghe.com');
    assert.equal(c.github_api_url, 'https://api.company.ghe.com');
    assert.equal(c.copilot_api_url, 'https://copilot-api.company.ghe.com');
  });

  test('one clear line per bad key, naming the file and what is allowed', () => {
    const env = home({ port: 70000, oauth_app: 'emacs', timeouts: { http_client: -1 }, cors_origins: 'x' });
    const lines = problems(() => loadConfig({ env }));
    assert.equal(lines.length, 4);
    const file = path.join(env.GITHUB_COPILOT_SVCS_HOME ?? '', 'config.json');
    assert.ok(lines.every((l) => l.startsWith(`${file}: `)), lines.join('\n'));
    assert.ok(lines.some((l) => /port: must be 0-65535 \(0 picks a free port\) \(got 70000\)/.test(l)));
    assert.ok(lines.some((l) => /oauth_app: must be one of "vscode", "opencode"/.test(l)));
    assert.ok(lines.some((l) => /timeouts\.http_client: must be > 0 \(got -1\)/.test(l)));
    assert.ok(lines.some((l) => /cors_origins: must be a list, like \["a", "b"\] \(got "x"\)/.test(l)), lines.join('\n'));
  });

  test("errors are in words, not zod's: an object of names, a whole number, at least one; a misspelt key gets a did-you-mean", () => {
    const env = home({ model_map: 5, prot: 8082, timeouts: { shutdwn: 3 } });
    const lines = problems(() => loadConfig({ env }));
    assert.ok(lines.some((l) => l.endsWith('model_map: must be an object of names to values, like {"name": "value"} (got 5)')), lines.join('\n'));
    assert.ok(lines.some((l) => l.endsWith('timeouts: unknown key "shutdwn" (did you mean "shutdown"?)')), lines.join('\n'));
    // The misspelt top-level key is said beside the errors (it often explains them), as a warning, not an error.
    assert.ok(!lines.some((l) => l.includes('"prot"')), lines.join('\n'));
    assert.deepEqual(warningsOf(() => loadConfig({ env })).filter((l) => l.endsWith('unknown key "prot" ignored (did you mean "port"?)')).length, 1);
    assert.ok(lines.every((l) => !/Too small|must be record|expected number/.test(l)), lines.join('\n'));
  });

  test('bad JSON is one line and the file is left untouched', () => {
    const env = home('{"port": 8081,');
    const file = path.join(env.GITHUB_COPILOT_SVCS_HOME ?? '', 'config.json');
    const lines = problems(() => loadConfig({ env }));
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /config\.json: not valid JSON/);
    assert.equal(fs.readFileSync(file, 'utf8'), '{"port": 8081,');
  });

  test('bad env var names the variable; secret values are never echoed', () => {
    const lines = problems(() => loadConfig({ env: { ...home(), GITHUB_COPILOT_SVCS_PORT: 'eighty', GITHUB_COPILOT_SVCS_API_KEY: 'short' } }));
    assert.ok(lines.some((l) => l.startsWith('environment: GITHUB_COPILOT_SVCS_PORT:')), lines.join('\n'));
    assert.ok(lines.some((l) => l.includes('GITHUB_COPILOT_SVCS_API_KEY') && l.includes('(hidden)') && !l.includes('short')), lines.join('\n'));
  });

  test('unknown keys are warnings, not errors (forward compatible with Go-tool files)', () => {
    const c = loadConfig({ env: home({ port: 8082, some_future_key: true }) });
    assert.equal(c.port, 8082);
    assert.equal(c.warnings.length, 1);
    assert.match(c.warnings[0] ?? '', /unknown key "some_future_key" ignored$/);
    const typo = loadConfig({ env: home({ log_levle: 'debug' }) });
    assert.match(typo.warnings[0] ?? '', /unknown key "log_levle" ignored \(did you mean "log_level"\?\)$/);
  });

  test('debug endpoints default off when not on loopback', () => {
    assert.equal(loadConfig({ env: home({ host: '0.0.0.0', api_key: 'long-enough-key' }) }).debug_endpoints, false);
  });
});

test('config.example.json is valid and equals the defaults', () => {
  const example = fs.readFileSync(new URL('../../config.example.json', import.meta.url), 'utf8');
  const fromExample = loadConfig({ env: home(example) });
  const defaults = loadConfig({ env: home() });
  assert.deepEqual(fromExample.warnings, []);
  const strip = (c: typeof defaults) => ({ ...c, paths: undefined, sources: undefined });
  assert.deepEqual(strip(fromExample), strip(defaults));
});

test("a config.json exactly as the Go tool writes it loads: headers and allowed_models honoured, CORS '*' refused", () => {
  // json.Encoder output of the Go tool's Config struct (every field, zero values included).
  const goFile = {
    port: 8082,
    github_token: 'gho_fromthegotool0000000000',
    copilot_token: '',
    expires_at: 0,
    refresh_in: 0,
    allowed_models: ['gpt-4.1', 'claude-sonnet-4'],
    headers: {
      user_agent: 'GitHubCopilotChat/0.29.1',
      editor_version: 'vscode/1.102.3',
      editor_plugin_version: 'copilot-chat/0.29.1',
      copilot_integration_id: 'vscode-chat',
      openai_intent: 'conversation-edits',
      x_initiator: 'user',
    },
    cors: { allowed_origins: ['*', 'http://localhost:3000'], allowed_headers: ['*'] },
    timeouts: { http_client: 300, server_read: 30, server_write: 300, server_idle: 120, proxy_context: 300, circuit_breaker: 30, keep_alive: 30, tls_handshake: 10, dial_timeout: 10, idle_conn_timeout: 90 },
  };
  const c = loadConfig({ env: home(goFile) });
  assert.equal(c.port, 8082);
  assert.deepEqual(c.allowed_models, ['gpt-4.1', 'claude-sonnet-4']);
  assert.equal(c.headers.editor_version, 'vscode/1.102.3');
  assert.equal(c.headers.user_agent, 'GitHubCopilotChat/0.29.1');
  assert.deepEqual(c.cors_origins, ['http://localhost:3000']);
  assert.equal(c.sources.cors_origins, 'file', 'the origin came from the file (cors.allowed_origins)');
  assert.ok(c.warnings.some((w) => w.includes('cors.allowed_origins "*"')), c.warnings.join('\n'));
  assert.equal(c.legacy_tokens.github_token, 'gho_fromthegotool0000000000');
  assert.equal(c.legacy_tokens.copilot_token, undefined);
  assert.equal(loadConfig({ env: home({ allowed_models: null }) }).allowed_models.length, 0);
});
