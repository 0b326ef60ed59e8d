import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse as parseToml } from 'smol-toml';
import { CODEX_BEGIN, clientConfigFiles, clientConfigPath, codexProfile, defaultModel, envExports, mergeClaudeSettings, mergeCodexConfig, mergeOpencodeConfig } from './configure.ts';

const t = { origin: 'http://localhost:8081', key: 'dummy', model: 'claude-sonnet-4.5' };

describe('setup: merging into each client\'s own config', () => {
  test('Claude Code: our env block merged, every other key and env var kept; twice changes nothing', () => {
    const mine = JSON.stringify({ theme: 'dark', env: { FOO: '1', ANTHROPIC_BASE_URL: 'https://elsewhere' }, permissions: { allow: ['Bash(ls)'] } });
    const once = mergeClaudeSettings(mine, t);
    const o: unknown = JSON.parse(once);
    assert.deepEqual(o, { theme: 'dark', env: { FOO: '1', ANTHROPIC_BASE_URL: 'http://localhost:8081', ANTHROPIC_AUTH_TOKEN: 'dummy', ANTHROPIC_MODEL: 'claude-sonnet-4.5' }, permissions: { allow: ['Bash(ls)'] } });
    assert.equal(mergeClaudeSettings(once, t), once);
    assert.throws(() => mergeClaudeSettings('{not json', t, '/x/settings.json'), /\/x\/settings\.json is not valid JSON/);
  });

  test('Codex: a marked block with the provider and a copilot profile; the user\'s keys untouched; replaced in place; valid TOML or nothing', () => {
    const mine = 'model = "o3"\napproval_policy = "on-request"\n\n[mcp_servers.x]\ncommand = "y"\n';
    const once = mergeCodexConfig(mine, { ...t, model: 'gpt-5-codex' });
    assert.ok(once.startsWith(mine), 'the user\'s text is kept as it was');
    const parsed = parseToml(once);
    assert.equal(parsed.model, 'o3', 'plain codex stays as it was');
    assert.equal(parsed.profiles, undefined, 'no [profiles] table: Codex 0.171 refuses it in config.toml');
    assert.deepEqual(JSON.parse(JSON.stringify(parseToml(codexProfile({ ...t, model: 'gpt-5-codex' })))), { model: 'gpt-5-codex', model_provider: 'copilot_proxy' });
    assert.equal(Reflect.get(Reflect.get(parsed.model_providers as object, 'copilot_proxy') as object, 'base_url'), 'http://localhost:8081/v1');
    assert.equal(mergeCodexConfig(once, { ...t, model: 'gpt-5-codex' }), once, 'twice changes nothing');
    const other = mergeCodexConfig(once, { ...t, model: 'gpt-5.1-codex' });
    assert.equal(other.split(CODEX_BEGIN).length, 2, 'one block, replaced');
    assert.equal(other, once, 'the provider block does not depend on the model (the profile file does)');
    assert.throws(() => mergeCodexConfig('[model_providers.copilot_proxy]\nname = "x"\n', t), /would not be valid TOML .* Nothing was changed/);
    assert.deepEqual(clientConfigFiles('codex', { CODEX_HOME: '/x' }, '/h'), ['/x/config.toml', '/x/copilot.config.toml']);
    assert.match(mergeCodexConfig('', { ...t, key: 's3cret-key' }), /http_headers = \{ Authorization = "Bearer s3cret-key" \}/);
  });

  test('opencode: our provider and model merged, other providers kept', () => {
    const mine = JSON.stringify({ provider: { ollama: { npm: 'x' } }, theme: 'y' });
    const once = JSON.parse(mergeOpencodeConfig(mine, t)) as Record<string, unknown>;
    assert.equal(once.model, 'copilot-proxy/claude-sonnet-4.5');
    assert.deepEqual(Object.keys(once.provider as object).sort(), ['copilot-proxy', 'ollama']);
    assert.equal(once.theme, 'y');
    const text = mergeOpencodeConfig(mine, t);
    assert.equal(mergeOpencodeConfig(text, t), text);
  });

  test('where each client reads its config, its override variable first; defaults from the live list; env exports', () => {
    assert.equal(clientConfigPath('claude-code', {}, '/h'), '/h/.claude/settings.json');
    assert.equal(clientConfigPath('claude-code', { CLAUDE_CONFIG_DIR: '/c' }, '/h'), '/c/settings.json');
    assert.equal(clientConfigPath('codex', { CODEX_HOME: '/x' }, '/h'), '/x/config.toml');
    assert.equal(clientConfigPath('opencode', { XDG_CONFIG_HOME: '/cfg' }, '/h'), '/cfg/opencode/opencode.json');
    assert.equal(defaultModel('claude-code', ['gpt-4.1', 'claude-sonnet-4', 'claude-sonnet-4.5']), 'claude-sonnet-4.5');
    assert.equal(defaultModel('codex', ['gpt-5-codex', 'gpt-5.1-codex', 'gpt-5.1-codex-mini']), 'gpt-5.1-codex');
    assert.equal(defaultModel('codex', []), 'gpt-5-codex');
    assert.deepEqual(envExports(t), ['export OPENAI_BASE_URL=http://localhost:8081/v1', 'export OPENAI_API_KEY=dummy', 'export ANTHROPIC_BASE_URL=http://localhost:8081', 'export ANTHROPIC_AUTH_TOKEN=dummy']);
  });
});
