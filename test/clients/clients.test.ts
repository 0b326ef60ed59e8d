import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { z } from 'zod';
import { WRITE_DONE, writePrompt } from '../fake-upstream/index.ts';
import { claudeCodeEnv, codexConfigToml, opencodeProviders } from '../../src/clients/setup.ts';
import { scenarioResultSchema, type ScenarioResult, type ScenarioSpec } from './scenario.ts';

/**
 * The real client programs, unmodified, from npm at pinned versions
 * (package.json here), against the proxy and the fake Copilot. Each scenario
 * runs in its own network namespace with only loopback (run-scenario.ts), so
 * their telemetry, update checks and plugin syncs cannot leave the machine.
 * A client that cannot be installed or started fails the suite.
 */

const DIR = import.meta.dirname;
const BIN = path.join(DIR, 'node_modules');
const PKG = z.object({ dependencies: z.record(z.string(), z.string()) }).parse(JSON.parse(fs.readFileSync(path.join(DIR, 'package.json'), 'utf8')));
const version = (dep: string) => (PKG.dependencies[dep] ?? '?').replace(/^npm:.*@/, '');

const CLAUDE = path.join(BIN, '@anthropic-ai/claude-code/bin/claude.exe');
const CODEX = path.join(BIN, '@openai/codex/bin/codex.js');
const CODEX_CHAT_WIRE = path.join(BIN, 'codex-chat-wire/bin/codex.js');
const OPENCODE = path.join(BIN, 'opencode-ai/bin/opencode.exe');
const PYTHON = path.join(DIR, '.venv/bin/python');

function runScenario(spec: ScenarioSpec): Promise<ScenarioResult> {
  // Root (CI) makes a network namespace directly; elsewhere a user namespace maps us to root in it.
  const unshare = ['--net', ...(process.getuid?.() === 0 ? [] : ['--map-root-user'])];
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', [...unshare, process.execPath, '--import', 'tsx', path.join(DIR, 'run-scenario.ts')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('exit', () => {
      const line = out.split('\n').find((l) => l.startsWith('@@RESULT@@'));
      if (!line) return reject(new Error(`run-scenario gave no result\nstdout: ${out.slice(-2000)}\nstderr: ${err.slice(-2000)}`));
      resolve(scenarioResultSchema.parse(JSON.parse(line.slice('@@RESULT@@'.length))));
    });
    child.stdin.end(JSON.stringify(spec));
  });
}

/** Everything a failed assertion should show. */
const show = (r: ScenarioResult) =>
  `exit ${r.code}\n--- stdout\n${r.stdout.slice(-1500)}\n--- stderr\n${r.stderr.slice(-2500)}\n--- upstream\n${r.requests.map((q) => `${q.method} ${q.path}`).join('\n')}\n--- proxy\n${r.proxyLog.join('\n')}`;

const posts = (r: ScenarioResult) => r.requests.filter((q) => q.method === 'POST');
const modelOf = (body: unknown) => z.object({ model: z.string() }).parse(body).model;
const rolesOf = (body: unknown) => z.object({ messages: z.array(z.object({ role: z.string() })) }).parse(body).messages.map((m) => m.role);

const WRITE = (who: string) => writePrompt('{{WORK}}/hello.txt', `hi from ${who}`);

/** Asserts the client wrote the file through its own tool, in one tool round trip (user turn, then agent turn). */
function assertWroteFile(r: ScenarioResult, who: string, upstreamPath: string): void {
  assert.equal(r.code, 0, show(r));
  assert.equal(r.files['hello.txt'], `hi from ${who}`, show(r));
  assert.ok(r.stdout.includes(WRITE_DONE), show(r));
  const calls = posts(r).filter((q) => q.path === upstreamPath);
  assert.ok(calls.length >= 2, `at least the tool call and the answer went to ${upstreamPath}\n${show(r)}`);
  assert.equal(calls.at(-1)?.headers['x-initiator'], 'agent', 'the turn after a tool result is the agent\'s (not billed)');
  assert.ok(calls.some((q) => q.headers['x-initiator'] === 'user'), 'the typed prompt is the user\'s');
  assert.ok(!r.proxyLog.some((l) => / status=[45]\d\d /.test(l)), `no request failed\n${show(r)}`);
}

before(() => {
  execFileSync(process.execPath, [path.join(DIR, 'install.mjs')], { stdio: 'inherit', timeout: 600_000 });
  for (const bin of [CLAUDE, CODEX, CODEX_CHAT_WIRE, OPENCODE, PYTHON]) assert.ok(fs.existsSync(bin), `${bin} is installed`);
});

describe(`Claude Code ${version('@anthropic-ai/claude-code')} (claude -p)`, () => {
  const claude = (args: string[]): ScenarioSpec => ({
    command: CLAUDE,
    args: ['-p', ...args, '--permission-mode', 'acceptEdits'],
    env: {
      ...claudeCodeEnv({ origin: '{{PROXY}}', key: 'dummy' }),
      DISABLE_TELEMETRY: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_ERROR_REPORTING: '1',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    },
  });

  // Configured by `setup claude-code` (its settings.json env block), not by env vars: what users run.
  const claudeBySetup = (model: string, args: string[]): ScenarioSpec => {
    const spec = claude(args);
    const env = Object.fromEntries(Object.entries(spec.env ?? {}).filter(([k]) => !k.startsWith('ANTHROPIC_')));
    return { ...spec, env, setup: { client: 'claude-code', model } };
  };

  test('configured by setup claude-code: a Claude model (native /v1/messages) writes a file through its Write tool', async () => {
    const r = await runScenario(claudeBySetup('claude-sonnet-4', [WRITE('claude')]));
    assert.match(r.setupOutput, /^✅ POST \/v1\/messages\/count_tokens answers for claude-sonnet-4/m, show(r));
    assertWroteFile(r, 'claude', '/v1/messages');
    assert.equal(modelOf(posts(r)[0]?.body), 'claude-sonnet-4');
  });

  test('configured by setup claude-code --model gpt-4.1 (translated to /chat/completions): its system message inside messages is kept in place; writes the file', async () => {
    const r = await runScenario(claudeBySetup('gpt-4.1', [WRITE('claude')]));
    assertWroteFile(r, 'claude', '/chat/completions');
    assert.deepEqual(rolesOf(posts(r)[0]?.body).slice(0, 3), ['system', 'user', 'system'], 'Claude Code puts a system entry after the user turn');
  });

  test('its default model (an Opus Copilot does not list) falls back to the newest Claude; system entries folded for native /v1/messages; writes the file', async () => {
    const r = await runScenario(claude([WRITE('claude')]));
    assertWroteFile(r, 'claude', '/v1/messages');
    const first = posts(r)[0];
    assert.equal(modelOf(first?.body), 'claude-sonnet-4');
    assert.ok(!rolesOf(first?.body).includes('system'), 'folded into the user turn');
    assert.ok(r.proxyLog.some((l) => /model=claude-opus-\S+ upstream_model=claude-sonnet-4/.test(l)), show(r));
  });

  test('an unknown model: the proxy\'s 404 model_not_found is one Claude Code recognises ("issue with the selected model")', async () => {
    const r = await runScenario(claude(['say hi', '--model', 'no-such-model']));
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /There's an issue with the selected model \(no-such-model\)/, show(r));
    assert.ok(r.proxyLog.some((l) => / status=404 error=model_not_found model=no-such-model /.test(l)), show(r));
    assert.equal(posts(r).length, 0, 'nothing went upstream');
  });
});

// The configurations the README and the dashboard show (src/clients/setup.ts), plus what a run without a person needs.
const codexConfig = (model: string, wireApi: 'responses' | 'chat') =>
  codexConfigToml({
    baseUrl: '{{PROXY}}/v1',
    model,
    wireApi,
    topLevel: ['approval_policy = "never"', 'sandbox_mode = "danger-full-access"', 'check_for_update_on_startup = false'],
  });

const codex = (bin: string, model: string, wireApi: 'responses' | 'chat'): ScenarioSpec => ({
  command: process.execPath,
  args: [bin, 'exec', '--skip-git-repo-check', '-m', model, WRITE('codex')],
  env: { CODEX_HOME: '{{HOME}}/.codex', COPILOT_PROXY_KEY: 'dummy', RUST_LOG: 'error' },
  files: { '{{HOME}}/.codex/config.toml': codexConfig(model, wireApi) },
  timeoutMs: 90_000,
});

// The user's own config.toml (what a run without a person needs); `setup codex` adds the provider and its `copilot` profile.
const codexBySetup = (model: string): ScenarioSpec => ({
  command: process.execPath,
  args: [CODEX, 'exec', '--profile', 'copilot', '--skip-git-repo-check', WRITE('codex')],
  env: { CODEX_HOME: '{{HOME}}/.codex', RUST_LOG: 'error' },
  files: { '{{HOME}}/.codex/config.toml': 'approval_policy = "never"\nsandbox_mode = "danger-full-access"\ncheck_for_update_on_startup = false\n' },
  setup: { client: 'codex', model },
  timeoutMs: 90_000,
});

describe(`Codex CLI ${version('@openai/codex')} (codex exec, wire_api = "responses")`, () => {
  for (const model of ['gpt-4.1', 'gpt-5-codex']) {
    test(`configured by setup codex (profile copilot), ${model}: a shell tool round trip writes the file`, async () => {
      const r = await runScenario(codexBySetup(model));
      assert.match(r.setupOutput, new RegExp(`^✅ GET /v1/models lists ${model.replace('.', '\\.')}`, 'm'), show(r));
      assertWroteFile(r, 'codex', '/responses');
      assert.equal(modelOf(posts(r)[0]?.body), model);
    });
  }
});

describe(`Codex CLI ${version('codex-chat-wire')} (the last release with wire_api = "chat")`, () => {
  test('gpt-5-codex, a responses-only model, through Chat Completions: translated to /responses and back, tools included', async () => {
    const r = await runScenario(codex(CODEX_CHAT_WIRE, 'gpt-5-codex', 'chat'));
    assertWroteFile(r, 'codex', '/responses');
    assert.ok(r.proxyLog.every((l) => !l.includes('request method=POST') || l.includes('route=/v1/chat/completions')), 'the client spoke Chat Completions');
    assert.equal(posts(r).filter((q) => q.path === '/chat/completions').length, 0);
  });
});

describe(`opencode ${version('opencode-ai')} (opencode run)`, () => {
  // The user's own opencode.json (its Anthropic provider pointed here by hand); `setup opencode` adds the copilot-proxy provider and the model.
  const opencode = (model: string): ScenarioSpec => ({
    command: OPENCODE,
    args: ['run', '-m', model, WRITE('opencode')],
    env: { OPENCODE_DISABLE_AUTOUPDATE: '1', OPENCODE_DISABLE_MODELS_FETCH: '1', OPENCODE_DISABLE_LSP_DOWNLOAD: '1', OPENCODE_DISABLE_DEFAULT_PLUGINS: '1' },
    files: {
      '{{HOME}}/.config/opencode/opencode.json': JSON.stringify({
        $schema: 'https://opencode.ai/config.json',
        autoupdate: false,
        share: 'disabled',
        provider: { anthropic: opencodeProviders({ baseUrl: '{{PROXY}}/v1', key: 'dummy' }).anthropic },
      }),
    },
    setup: { client: 'opencode', model: model.startsWith('copilot-proxy/') ? model.slice('copilot-proxy/'.length) : 'gpt-4.1' },
    timeoutMs: 90_000,
  });

  test('OpenAI-compatible provider, gpt-4.1: writes the file', async () => {
    assertWroteFile(await runScenario(opencode('copilot-proxy/gpt-4.1')), 'opencode', '/chat/completions');
  });

  test('OpenAI-compatible provider, gpt-5-codex (responses-only): Chat Completions translated, writes the file', async () => {
    const r = await runScenario(opencode('copilot-proxy/gpt-5-codex'));
    assertWroteFile(r, 'opencode', '/responses');
    assert.equal(posts(r).filter((q) => q.path === '/chat/completions').length, 0);
  });

  test('Anthropic provider, claude-sonnet-4: native /v1/messages, writes the file', async () => {
    assertWroteFile(await runScenario(opencode('anthropic/claude-sonnet-4')), 'opencode', '/v1/messages');
  });
});

describe('the official OpenAI Python SDK (pip, in a venv)', () => {
  test('gpt-5-codex through Chat Completions: non-stream, stream with usage, tool call and tool result', async () => {
    const r = await runScenario({ command: PYTHON, args: [path.join(DIR, 'python_sdk_check.py'), 'gpt-5-codex'], env: { OPENAI_BASE_URL: '{{PROXY}}/v1' } });
    assert.equal(r.code, 0, show(r));
    const out = z
      .object({
        sdk_version: z.string(),
        non_stream: z.object({ content: z.string(), finish: z.string(), usage: z.number() }),
        stream: z.object({ content: z.string(), finish: z.string(), usage: z.number() }),
        tool_stream: z.object({ finish: z.string(), name: z.string(), arguments: z.unknown() }),
        tool_result: z.string(),
      })
      .parse(JSON.parse(r.stdout.trim().split('\n').at(-1) ?? ''));
    assert.deepEqual(out.non_stream.content, 'Echo: hello from python');
    assert.equal(out.non_stream.finish, 'stop');
    assert.equal(out.stream.content, 'Echo: streamed from python');
    assert.ok(out.stream.usage > 0);
    assert.deepEqual(out.tool_stream, { finish: 'tool_calls', name: 'get_weather', arguments: { city: 'Paris' } });
    assert.equal(out.tool_result, 'The weather is sunny');
    assert.equal(posts(r).filter((q) => q.path === '/chat/completions').length, 0, 'all four went to /responses');
  });
});
