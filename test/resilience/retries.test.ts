import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { errors } from '../fake-upstream/index.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';
import { MODEL, assertHealthy, closedPort, forward, postChat, readSse } from './helpers.ts';

const ask = (h: Harness, content: string) => h.openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }] });

describe('retries: upstream faults before the first byte are retried, the client sees success', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { timeouts: { first_byte: 1 } } });
  });
  after(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.fake.clearInjections();
    h.fake.clear();
  });
  afterEach(async () => {
    await assertHealthy(h);
  });

  for (const status of [500, 502, 503, 504] as const) {
    test(`${status}, ${status}, then success (non-stream and stream)`, async () => {
      const retries = h.proxy.ctx.gateway.state().retries;
      h.fake.failNext(2, { ...errors.serverError(status), path: '/chat/completions' });
      const r = await ask(h, `after ${status}`);
      assert.equal(r.choices[0]?.message.content, `Echo: after ${status}`);
      assert.equal(h.fake.counts.chat, 3, 'two failures and the successful third attempt');
      assert.equal(h.proxy.ctx.gateway.state().retries - retries, 2);

      h.fake.failNext(2, { ...errors.serverError(status), path: '/chat/completions' });
      const s = await readSse(await postChat(h, `stream after ${status}`, { stream: true }));
      assert.equal(s.content, `Echo: stream after ${status}`);
      assert.ok(s.done);
      assert.equal(h.fake.counts.chat, 6);
    });
  }

  test('three failures in a row: the client gets the last upstream status and message as text', async () => {
    h.fake.failNext(3, { ...errors.serverError(503), path: '/chat/completions' });
    await assert.rejects(ask(h, 'x'), (e: unknown) => e instanceof OpenAI.APIError && e.status === 503 && !e.message.includes('{"error"'));
    assert.equal(h.fake.counts.chat, 3, 'exactly 3 attempts');
  });

  test('429 with Retry-After: 2 is waited out (about 2 s), then success', async () => {
    h.fake.failNext(1, { ...errors.rateLimited(2), path: '/chat/completions' });
    const t0 = Date.now();
    const r = await ask(h, 'after 429');
    const waited = Date.now() - t0;
    assert.equal(r.choices[0]?.message.content, 'Echo: after 429');
    assert.equal(h.fake.counts.chat, 2);
    assert.ok(waited >= 1800, `waited ${waited} ms for Retry-After: 2`);
  });

  test('429 with a Retry-After beyond the cap goes straight to the client with its Retry-After', async () => {
    h.fake.failNext(1, { ...errors.rateLimited(60), path: '/chat/completions' });
    const res = await postChat(h, 'x');
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '60');
    const body = (await res.json()) as { error: { type: string } };
    assert.equal(body.error.type, 'rate_limit_error');
    assert.equal(h.fake.counts.chat, 1);
  });

  test('408 is retried', async () => {
    h.fake.failNext(1, { status: 408, body: 'request timeout', path: '/chat/completions' });
    const r = await ask(h, 'after 408');
    assert.equal(r.choices[0]?.message.content, 'Echo: after 408');
    assert.equal(h.fake.counts.chat, 2);
  });

  test('400, 402, 403 (after the refresh), 404 and 413 are never retried', async () => {
    const cases = [
      { spec: errors.badRequest('bad'), status: 400, attempts: 1 },
      { spec: errors.quotaExceeded(), status: 402, attempts: 1 },
      // 403 is treated like a 401 once: refresh, one more try, then the error.
      { spec: errors.forbidden('no access'), status: 403, attempts: 2 },
      { spec: { status: 404, body: '404 page not found' }, status: 404, attempts: 1 },
      { spec: { status: 413, body: 'too large' }, status: 413, attempts: 1 },
    ];
    for (const c of cases) {
      h.fake.clear();
      h.fake.failNext(c.attempts, { ...c.spec, path: '/chat/completions' });
      const res = await postChat(h, 'x');
      assert.equal(res.status, c.status);
      await res.arrayBuffer();
      assert.equal(h.fake.counts.chat, c.attempts, `attempts for ${c.status}`);
    }
    assert.equal(h.proxy.ctx.gateway.state().consecutiveFailures, 0, 'client errors do not count against the circuit');
  });

  test('connection reset before the headers is retried', async () => {
    h.fake.faultNext(2, 'reset-before-headers', { path: '/chat/completions' });
    const r = await ask(h, 'after reset');
    assert.equal(r.choices[0]?.message.content, 'Echo: after reset');
    assert.equal(h.fake.counts.chat, 3);
  });

  test('a non-stream body cut short is retried (nothing went to the client yet); one answered in full but malformed is not (it may be billed)', async () => {
    h.fake.faultNext(1, 'reset-mid-stream', { path: '/chat/completions' });
    const r = await ask(h, 'after a broken body');
    assert.equal(r.choices[0]?.message.content, 'Echo: after a broken body');
    assert.equal(h.fake.counts.chat, 2);
    h.fake.faultNext(1, 'malformed-sse', { path: '/chat/completions' });
    await assert.rejects(ask(h, 'after a malformed body'), (err: unknown) => err instanceof Error && 'status' in err && err.status === 502 && /not JSON/.test(err.message));
    assert.equal(h.fake.counts.chat, 3, 'one call for the malformed answer');
  });

  test('a body cut short is retried on every route: responses, messages (native and translated), embeddings', async () => {
    const anthropic = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
    const cases: Array<{ path: string; upstream: string; body: unknown; headers?: Record<string, string> }> = [
      { path: '/v1/responses', upstream: '/responses', body: { model: MODEL, input: 'cut' } },
      { path: '/v1/messages', upstream: '/v1/messages', body: { model: 'claude-sonnet-4', max_tokens: 50, messages: [{ role: 'user', content: 'cut' }] }, headers: anthropic },
      { path: '/v1/messages', upstream: '/chat/completions', body: { model: MODEL, max_tokens: 50, messages: [{ role: 'user', content: 'cut' }] }, headers: anthropic },
      { path: '/v1/embeddings', upstream: '/embeddings', body: { model: 'text-embedding-3-small', input: 'cut' } },
    ];
    for (const c of cases) {
      h.fake.clear();
      h.fake.faultNext(1, 'reset-mid-stream', { path: c.upstream });
      const res = await fetch(`${h.url}${c.path}`, { method: 'POST', headers: c.headers ?? { 'content-type': 'application/json' }, body: JSON.stringify(c.body) });
      const text = await res.text();
      assert.equal(res.status, 200, `${c.path} -> ${c.upstream}: ${text}`);
      assert.equal(h.fake.requests.filter((r) => r.path === c.upstream).length, 2, `${c.upstream} was tried twice`);
    }
  });

  test('no response headers within timeouts.first_byte: the attempt is abandoned and retried', async () => {
    h.fake.faultNext(1, 'hang', { path: '/chat/completions' });
    const r = await ask(h, 'after a hang');
    assert.equal(r.choices[0]?.message.content, 'Echo: after a hang');
    assert.equal(h.fake.counts.chat, 2);
    assert.equal(h.fake.abortedRequests, 1, 'the hung upstream request was closed');
  });

  test('a silent upstream: 504 within first_byte plus one retry, not three full waits', async () => {
    h.fake.faultNext(3, 'hang', { path: '/chat/completions' });
    const started = Date.now();
    await assert.rejects(ask(h, 'into the void'), (err: unknown) => err instanceof OpenAI.APIError && err.status === 504);
    const ms = Date.now() - started;
    assert.equal(h.fake.counts.chat, 2, 'tried twice, not three times');
    // first_byte is 1 s here: two waits and the 1 s pause between them.
    assert.ok(ms < 4500, `${ms} ms`);
    h.fake.clearInjections();
  });

  test('non-stream: headers, then a silent body: a 504 after timeouts.first_byte of quiet (twice), not stream_idle or proxy_context', async () => {
    h.fake.faultNext(2, 'silence-after-headers', { path: '/chat/completions' });
    const started = Date.now();
    await assert.rejects(ask(h, 'quiet body'), (err: unknown) => err instanceof OpenAI.APIError && err.status === 504 && /silent .*first_byte/.test(err.message));
    assert.ok(Date.now() - started < 4500, `${Date.now() - started} ms`);
    assert.equal(h.fake.counts.chat, 2);
  });

  test('slow trickle (non-stream) completes', async () => {
    h.fake.faultNext(1, 'trickle', { path: '/chat/completions', delayMs: 200 });
    const r = await ask(h, 'slowly');
    assert.equal(r.choices[0]?.message.content, 'Echo: slowly');
    assert.equal(h.fake.counts.chat, 1);
  });

  test('401 token expired still goes through the one refresh-and-retry path', async () => {
    const exchanges = h.fake.counts.exchange;
    h.fake.failNext(1, { ...errors.tokenExpired(), path: '/chat/completions' });
    const r = await ask(h, 'after 401');
    assert.equal(r.choices[0]?.message.content, 'Echo: after 401');
    assert.equal(h.fake.counts.exchange - exchanges, 1);
  });
});

describe('connection refused', () => {
  let h: Harness;
  let port: number;
  before(async () => {
    port = await closedPort();
    h = await startHarness({ config: { copilot_api_url: `http://127.0.0.1:${port}` } });
  });
  after(async () => {
    await h.close();
  });

  test('every attempt refused: 502 in the OpenAI envelope after 3 attempts; fine once the upstream is back', async () => {
    const retries = h.proxy.ctx.gateway.state().retries;
    const res = await postChat(h, 'x');
    assert.equal(res.status, 502);
    const body = (await res.json()) as { error: { message: string; type: string; code: string } };
    assert.equal(body.error.type, 'server_error');
    assert.equal(body.error.code, 'upstream_unreachable');
    assert.match(body.error.message, /ECONNREFUSED/);
    assert.equal(h.proxy.ctx.gateway.state().retries - retries, 2);
    const fwd = await forward(port, h.fake.port);
    try {
      await assertHealthy(h);
    } finally {
      await fwd.close();
    }
  });
});
