import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { loadConfig } from '../../src/config/load.ts';
import { ExitError } from '../../src/errors.ts';
import { keyMatches, presentedKeys } from '../../src/proxy/middleware/security.ts';
import { assertSafeBinding } from '../../src/proxy/run.ts';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/index.ts';
import { runCli } from '../helpers/cli.ts';
import { fakeEnv, startHarness, suiteHomes, type Harness } from '../helpers/harness.ts';
import { CHAT_BODY, assertAnthropicError, assertOpenAIError, request } from './util.ts';

const KEY = 'local-key-7f3a9c2e51';

describe('api_key', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { api_key: KEY } });
  });
  after(async () => {
    await h.close();
  });

  test('OpenAI SDK with the key as Bearer works; with a wrong key it gets 401 AuthenticationError', async () => {
    const r = await h.openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.choices[0]?.message.content, 'Echo: hi');
    const wrong = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'dummy', maxRetries: 0 });
    await assert.rejects(wrong.models.list(), (err: unknown) => err instanceof OpenAI.AuthenticationError && err.status === 401);
  });

  test('Anthropic SDK sends x-api-key: accepted; wrong key gets 401 in the Anthropic shape', async () => {
    const ok = new Anthropic({ baseURL: h.url, apiKey: KEY, maxRetries: 0 });
    const msg = await ok.messages.create({ model: 'claude-sonnet-4', max_tokens: 50, messages: [{ role: 'user', content: 'hello' }] });
    assert.equal(msg.type, 'message');
    const bad = new Anthropic({ baseURL: h.url, apiKey: 'sk-ant-wrong-key', maxRetries: 0 });
    await assert.rejects(bad.messages.create({ model: 'claude-sonnet-4', max_tokens: 50, messages: [{ role: 'user', content: 'hello' }] }), (err: unknown) => {
      assert.ok(err instanceof Anthropic.AuthenticationError);
      assert.equal(err.status, 401);
      assertAnthropicError(err.error);
      return true;
    });
  });

  test('a path that cannot be decoded meets the key check first: 401 without the key, 400 with it (#20)', async () => {
    const path = '/v1/models/%E0%A4%A';
    const without = await request(h.url, { method: 'GET', path });
    assert.equal(without.status, 401, without.text);
    const withKey = await request(h.url, { method: 'GET', path, headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(withKey.status, 400, withKey.text);
    assert.match(withKey.text, /Failed to decode the path/);
  });

  test('missing or wrong key: 401 in the caller shape, nothing upstream; a dummy in one header does not hide the key in the other', async () => {
    h.fake.clear();
    const cases: Array<[string, Record<string, string>]> = [
      ['no key', {}],
      ['wrong bearer', { authorization: 'Bearer nope-nope-nope' }],
      ['wrong x-api-key', { 'x-api-key': `${KEY}x` }],
      ['prefix of the key', { authorization: `Bearer ${KEY.slice(0, -1)}` }],
      ['basic auth, the key as user name', { authorization: `Basic ${Buffer.from(`${KEY}:x`).toString('base64')}` }],
      ['basic auth, a wrong password', { authorization: `Basic ${Buffer.from(`u:${KEY}x`).toString('base64')}` }],
    ];
    for (const [what, headers] of cases) {
      const r = await request(h.url, { method: 'POST', path: '/v1/chat/completions', headers: { ...headers, 'content-type': 'application/json' }, body: CHAT_BODY });
      assert.equal(r.status, 401, what);
      assert.equal(assertOpenAIError(r.json(), what).type, 'authentication_error');
      assert.match(String(r.headers['www-authenticate']), /^Bearer/);
      assert.ok(!r.text.includes(KEY), 'the key is never echoed');
      const a = await request(h.url, { method: 'POST', path: '/v1/messages', headers: { ...headers, 'content-type': 'application/json' }, body: '{}' });
      assert.equal(a.status, 401, what);
      assert.equal(assertAnthropicError(a.json(), what).type, 'authentication_error');
    }
    assert.equal(h.fake.counts.chat + h.fake.counts.messages, 0);
    const both = await request(h.url, { path: '/v1/models', headers: { authorization: 'Bearer dummy', 'x-api-key': KEY } });
    assert.equal(both.status, 200);
  });

  test('/health stays open (and token-free); /metrics, /debug, /usage, /admin and unknown routes need the key', async () => {
    assert.equal((await request(h.url, { path: '/health' })).status, 200);
    for (const [method, path] of [
      ['GET', '/metrics'],
      ['GET', '/debug/handles'],
      ['GET', '/usage'],
      ['GET', '/v1/models'],
      ['POST', '/admin/refresh'],
      ['GET', '/no/such/route'],
    ] as const) {
      const r = await request(h.url, { method, path });
      assert.equal(r.status, 401, `${method} ${path}`);
      const withKey = await request(h.url, { method, path, headers: { 'x-api-key': KEY } });
      assert.notEqual(withKey.status, 401, `${method} ${path} with the key`);
    }
  });

  test('the CLI reads api_key from the config and still reaches the running proxy', async () => {
    const r = await runCli(['status'], { ...h.env, GITHUB_COPILOT_SVCS_API_KEY: KEY });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!`${r.stdout}${r.stderr}`.includes(KEY));
  });

  test('pure: candidates from both headers, compared by digest', () => {
    assert.deepEqual(presentedKeys({ authorization: 'Bearer  abc ', 'x-api-key': 'def' }), ['abc', 'def']);
    assert.deepEqual(presentedKeys({ authorization: 'Token abc' }), []);
    // A browser on the dashboard: HTTP Basic, any user name, the key as password (which may hold a colon).
    assert.deepEqual(presentedKeys({ authorization: `Basic ${Buffer.from('me:k:ey').toString('base64')}` }), ['k:ey']);
    assert.deepEqual(presentedKeys({ authorization: `Basic ${Buffer.from('me:').toString('base64')}` }), []);
    assert.deepEqual(presentedKeys({ authorization: 'Basic !!!' }), []);
    const d = createHash('sha256').update('secret-key').digest();
    assert.equal(keyMatches(['x', 'secret-key'], d), true);
    assert.equal(keyMatches(['secret-keyy', ''], d), false);
    assert.equal(keyMatches([], d), false);
  });
});

describe('without api_key', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  test('whatever dummy key a client sends is ignored', async () => {
    const variants: Array<Record<string, string>> = [{}, { authorization: 'Bearer sk-dummy' }, { 'x-api-key': 'anything' }, { authorization: 'garbage' }];
    for (const headers of variants) {
      const r = await request(h.url, { path: '/v1/models', headers });
      assert.equal(r.status, 200, JSON.stringify(headers));
    }
  });
});

describe('binding', () => {
  let fake: FakeUpstream;
  const home = suiteHomes();
  before(async () => {
    fake = await startFakeUpstream();
  });
  after(async () => {
    await fake.close();
  });

  test('`run --host 0.0.0.0` without api_key refuses to start (exit 2) and says why', async () => {
    const env = { ...fakeEnv(fake, home(), fake.createGithubToken()), GITHUB_COPILOT_SVCS_PORT: '0' };
    const r = await runCli(['run', '--host', '0.0.0.0'], env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /Refusing to listen on 0\.0\.0\.0/);
    assert.match(r.stderr, /api_key/);
    assert.match(r.stderr, /127\.0\.0\.1/);
    const v6 = await runCli(['run', '--host', '::'], env);
    assert.equal(v6.code, 2);
  });

  test('defaults to 127.0.0.1; loopback names and an api_key pass the check', () => {
    const d = home();
    const config = loadConfig({ env: { GITHUB_COPILOT_SVCS_HOME: d } });
    assert.equal(config.host, '127.0.0.1');
    assert.doesNotThrow(() => assertSafeBinding(config));
    for (const host of ['localhost', '::1', '127.0.0.2']) assert.doesNotThrow(() => assertSafeBinding({ ...config, host }));
    assert.throws(() => assertSafeBinding({ ...config, host: '192.168.1.10' }), (e: unknown) => e instanceof ExitError && e.exitCode === 2);
    assert.doesNotThrow(() => assertSafeBinding({ ...config, host: '0.0.0.0', api_key: KEY }));
  });
});
