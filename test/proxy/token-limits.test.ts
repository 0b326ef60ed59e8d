import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MAX_MESSAGES } from '../../src/proxy/transform/chat.ts';
import { MAX_JSON_CONTAINERS } from '../../src/proxy/middleware/json.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';

// Token limits a client sets are checked at the edge (issue #20): -1, 0, 1.5, "100" and 1e300
// are a 400 naming the field, and nothing reaches Copilot.

const BAD: unknown[] = [-1, 0, 1.5, '100', 1e300];

describe('token limits on every model route', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  const routes: Array<{ path: string; field: string; body: (v: unknown) => object }> = [
    { path: '/v1/chat/completions', field: 'max_tokens', body: (v) => ({ model: 'gpt-4.1', max_tokens: v, messages: [{ role: 'user', content: 'hi' }] }) },
    { path: '/v1/chat/completions', field: 'max_completion_tokens', body: (v) => ({ model: 'gpt-4.1', max_completion_tokens: v, messages: [{ role: 'user', content: 'hi' }] }) },
    { path: '/v1/responses', field: 'max_output_tokens', body: (v) => ({ model: 'gpt-5.1-codex', max_output_tokens: v, input: 'hi' }) },
    { path: '/v1/responses', field: 'max_tokens', body: (v) => ({ model: 'gpt-5.1-codex', max_tokens: v, input: 'hi' }) },
    { path: '/v1/messages', field: 'max_tokens', body: (v) => ({ model: 'claude-sonnet-4', max_tokens: v, messages: [{ role: 'user', content: 'hi' }] }) },
  ];
  for (const r of routes) {
    test(`${r.path} ${r.field}: ${BAD.map((v) => JSON.stringify(v)).join(', ')} are 400s naming it; 1 and 2^31-1 pass`, async () => {
      h.fake.clear();
      for (const v of BAD) {
        const res = await fetch(`${h.url}${r.path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(r.body(v)) });
        const text = await res.text();
        assert.equal(res.status, 400, `${r.field}=${JSON.stringify(v)}: ${text}`);
        assert.match(text, new RegExp(r.field));
      }
      assert.equal(h.fake.requests.filter((q) => !q.path.includes('token') && !q.path.includes('models')).length, 0, 'nothing reached Copilot');
      for (const v of [1, 2 ** 31 - 1]) {
        const res = await fetch(`${h.url}${r.path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(r.body(v)) });
        assert.equal(res.status, 200, `${r.field}=${v}: ${await res.text()}`);
      }
    });
  }
});

describe('sampling parameters on chat', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  test('n, temperature and top_p outside OpenAI\'s ranges are 400s naming them; in range they pass', async () => {
    const chat = (extra: object) =>
      fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], ...extra }) });
    for (const [extra, field] of [[{ n: 0 }, 'n'], [{ n: 1.5 }, 'n'], [{ n: 1e300 }, 'n'], [{ temperature: -5 }, 'temperature'], [{ temperature: 'hot' }, 'temperature'], [{ top_p: 'x' }, 'top_p'], [{ top_p: 2 }, 'top_p']] as const) {
      const r = await chat(extra);
      assert.equal(r.status, 400, JSON.stringify(extra));
      assert.match(await r.text(), new RegExp(field));
    }
    assert.equal((await chat({ n: 1, temperature: 0.7, top_p: 0.9 })).status, 200);
  });
});

describe('how many messages one request may carry', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  test(`more than ${MAX_MESSAGES} messages (or input items) is a 400 naming the bound, before anything reaches Copilot`, async () => {
    const many = Array.from({ length: MAX_MESSAGES + 1 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'x' }));
    const cases: Array<[string, object]> = [
      ['/v1/chat/completions', { model: 'gpt-4.1', messages: many }],
      ['/v1/messages', { model: 'claude-sonnet-4', max_tokens: 5, messages: many }],
      ['/v1/messages', { model: 'gpt-4.1', max_tokens: 5, messages: many }],
      ['/v1/responses', { model: 'gpt-5.1-codex', input: many.map((m) => ({ ...m, type: 'message' })) }],
    ];
    h.fake.clear();
    for (const [p, body] of cases) {
      const res = await fetch(`${h.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await res.text();
      assert.equal(res.status, 400, `${p}: ${text.slice(0, 200)}`);
      assert.match(text, new RegExp(`at most ${MAX_MESSAGES}`));
    }
    assert.equal(h.fake.counts.chat + h.fake.counts.messages, 0);
  });

  test(`a body of more than ${MAX_JSON_CONTAINERS} objects and arrays is a 413 in the caller's shape, refused before it is parsed (#20)`, async () => {
    // The red team's body: 4.87 MB of 150,000 tiny messages.
    const tiny = Array.from({ length: 150_000 }, () => ({ role: 'user', content: 'x' }));
    h.fake.clear();
    for (const [p, body, shape] of [
      ['/v1/chat/completions', { model: 'gpt-4.1', messages: tiny }, 'openai'],
      ['/v1/messages', { model: 'claude-sonnet-4', max_tokens: 5, messages: tiny }, 'anthropic'],
    ] as const) {
      const res = await fetch(`${h.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json: unknown = await res.json();
      assert.equal(res.status, 413, p);
      const text = JSON.stringify(json);
      assert.match(text, /more than 50,000 JSON objects and arrays|more than 300,000 JSON values/);
      if (shape === 'anthropic') assert.match(text, /"type":"error"/);
      else assert.match(text, /"code":"request_too_large"/);
    }
    assert.equal(h.fake.counts.chat + h.fake.counts.messages, 0);
    // Just under the bound is parsed as usual (and then meets the message bound).
    const under = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4.1', messages: tiny.slice(0, MAX_JSON_CONTAINERS - 10) }) });
    assert.equal(under.status, 400);
    assert.match(await under.text(), new RegExp(`at most ${MAX_MESSAGES}`));
  });
});
