import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { answerProblem } from '../../src/upstream/call.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';
import { assertHealthy, postChat, readSse } from './helpers.ts';

// A 200 from Copilot is checked before it is believed: a body no client can use is a 502
// `upstream_malformed` after ONE call (it was answered, maybe billed: never retried), and it
// does not count toward the breaker. Found by the red team of issue #20.

const JSON_HEADERS = { 'content-type': 'application/json' };

describe('upstream 200s that no client can use', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { timeouts: { first_byte: 2 } } });
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

  const bad: Array<[string, string | object, Record<string, string>]> = [
    ['{}', {}, JSON_HEADERS],
    ['null', 'null', JSON_HEADERS],
    ['choices: []', { id: 'x', object: 'chat.completion', choices: [] }, JSON_HEADERS],
    ['a choice without a message', { id: 'x', object: 'chat.completion', choices: [{}] }, JSON_HEADERS],
    ['a message with nothing in it and no finish_reason', { id: 'x', object: 'chat.completion', choices: [{ index: 0, message: {} }] }, JSON_HEADERS],
    ['an HTML page', '<html><body>Service unavailable</body></html>', { 'content-type': 'text/html' }],
    ['invalid JSON', '{"choices": [', JSON_HEADERS],
  ];
  for (const [what, body, headers] of bad) {
    test(`${what}: 502 upstream_malformed after one upstream call, non-stream and stream; the breaker stays closed`, async () => {
      for (const stream of [false, true]) {
        const before = h.fake.counts.chat;
        h.fake.failNext(1, { status: 200, body, headers, path: '/chat/completions' });
        const r = await postChat(h, `bad ${what}`, { stream });
        assert.equal(r.status, 502, `${what} stream=${stream}`);
        assert.match(r.headers.get('content-type') ?? '', /application\/json/);
        const j: unknown = await r.json();
        assert.ok(typeof j === 'object' && j !== null && 'error' in j && typeof j.error === 'object' && j.error !== null && 'code' in j.error);
        assert.equal(j.error.code, 'upstream_malformed');
        assert.equal(h.fake.counts.chat - before, 1, 'one call: a 200 was answered and may have been billed');
      }
      assert.equal(h.proxy.ctx.gateway.state().circuit, 'closed');
    });
  }

  test('a stream of nothing (`data: {}` or `choices: []`, then [DONE]) ends in an error event, not an empty success', async () => {
    for (const body of ['data: {}\n\ndata: [DONE]\n\n', 'data: {"choices":[]}\n\ndata: [DONE]\n\n']) {
      h.fake.failNext(1, { status: 200, body, headers: { 'content-type': 'text/event-stream' }, path: '/chat/completions' });
      const s = await readSse(await postChat(h, 'empty stream', { stream: true }));
      assert.equal(s.errors.length, 1, s.text);
      assert.match(s.errors[0]?.message ?? '', /ended the stream before it sent any choice/);
      // The error event is the body's first byte: the record has a time to it.
      const rec = h.proxy.ctx.usageFeed?.recent().at(-1);
      assert.equal(rec?.status, 200);
      assert.equal(typeof rec?.ttfb_ms, 'number', JSON.stringify(rec));
    }
  });

  test('an item in the answer\'s list that is no item ([null], a block without a type) is a 502 on every route that reads one; a native Anthropic stream that skips message_start ends in an error event (found by a red team)', async () => {
    const post = (path: string, body: object) => fetch(`${h.url}${path}`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body) });
    const cases: Array<[string, string, object, object]> = [
      ['/v1/messages', '/v1/messages', { content: [null] }, { model: 'claude-sonnet-4', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }],
      ['/v1/messages', '/v1/messages', { content: [{ text: 'no type' }] }, { model: 'claude-sonnet-4', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }],
      ['/v1/responses', '/responses', { output: [null] }, { model: 'gpt-5.1-codex', input: 'hi' }],
      ['/v1/chat/completions', '/responses', { output: [null] }, { model: 'gpt-5.1-codex', messages: [{ role: 'user', content: 'hi' }] }],
      ['/v1/chat/completions', '/chat/completions', { choices: [null] }, { model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] }],
      // Translated for /v1/messages, an empty message with no finish_reason was a 200 with empty content.
      ['/v1/messages', '/chat/completions', { choices: [{ index: 0, message: {} }] }, { model: 'gpt-4.1', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }],
    ];
    for (const [route, upstream, answer, body] of cases) {
      h.fake.failNext(1, { status: 200, body: answer, headers: JSON_HEADERS, path: upstream });
      const r = await post(route, body);
      const text = await r.text();
      assert.equal(r.status, 502, `${route} <- ${JSON.stringify(answer)}: ${text}`);
      assert.match(text, /upstream_malformed|api_error/);
      if (route === '/v1/messages') assert.match(text, /^\{"type":"error"/);
    }
    h.fake.failNext(1, { status: 200, body: 'event: message_stop\ndata: {"type":"message_stop"}\n\n', headers: { 'content-type': 'text/event-stream' }, path: '/v1/messages' });
    const r = await post('/v1/messages', { model: 'claude-sonnet-4', max_tokens: 20, stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const text = await r.text();
    assert.match(text, /^event: error\ndata: \{"type":"error"/m, text);
    assert.match(text, /before message_start/);
    assert.doesNotMatch(text, /event: message_stop/);
  });

  test('a JSON completion to a stream request is not passed off as a stream', async () => {
    h.fake.failNext(1, { status: 200, body: { id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] }, headers: JSON_HEADERS, path: '/chat/completions' });
    const r = await postChat(h, 'json to a stream', { stream: true });
    assert.equal(r.status, 502);
  });
});

describe('answerProblem (pure)', () => {
  test('each endpoint needs its list; streams need a stream', () => {
    assert.equal(answerProblem('/chat/completions', { choices: [{ message: { role: 'assistant', content: 'hi' } }] }, false), null);
    assert.equal(answerProblem('/chat/completions', { choices: [] }, false), 'an empty choices list');
    assert.equal(answerProblem('/chat/completions', { choices: [{}] }, false), 'a choice without a message');
    assert.equal(answerProblem('/chat/completions', { choices: [{ message: {} }] }, false), 'choices that carry no content, no tool call and no finish_reason');
    // An empty answer that finished, a tool call alone, or a later choice with the text (Copilot's Claude splits them): answers.
    assert.equal(answerProblem('/chat/completions', { choices: [{ message: { role: 'assistant' }, finish_reason: 'stop' }] }, false), null);
    assert.equal(answerProblem('/chat/completions', { choices: [{ message: { content: '' } }] }, false), null);
    assert.equal(answerProblem('/chat/completions', { choices: [{ message: { tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] } }] }, false), null);
    assert.equal(answerProblem('/chat/completions', { choices: [{ message: { tool_calls: [] } }] }, false), 'choices that carry no content, no tool call and no finish_reason', 'an empty list is no tool call');
    assert.equal(answerProblem('/chat/completions', { choices: [{ message: {} }, { message: { content: 'hi' }, finish_reason: 'stop' }] }, false), null);
    assert.equal(answerProblem('/chat/completions', null, false), 'null instead of an object');
    assert.equal(answerProblem('/responses', { output: [] }, false), null);
    assert.equal(answerProblem('/responses', { id: 'r' }, false), 'no output list');
    assert.equal(answerProblem('/embeddings', { data: [] }, false), 'an empty data list');
    assert.equal(answerProblem('/v1/messages', { content: [] }, false), null);
    assert.equal(answerProblem('/v1/messages', { content: [{ type: 'text', text: 'hi' }] }, false), null);
    assert.equal(answerProblem('/v1/messages', { content: [null] }, false), 'content[0] that is not an object with a type');
    assert.equal(answerProblem('/v1/messages', { content: [{ type: 'text', text: 'a' }, { text: 'b' }] }, false), 'content[1] that is not an object with a type');
    assert.equal(answerProblem('/responses', { output: [[]] }, false), 'output[0] that is not an object with a type');
    assert.equal(answerProblem('/embeddings', { data: [null] }, false), 'data[0] that is not an object');
    assert.equal(answerProblem('/chat/completions', { choices: [{ message: {} }, 'x'] }, false), 'choices[1] that is not an object');
    assert.equal(answerProblem('/chat/completions', { choices: [{}] }, true), 'JSON to a stream request (no text/event-stream)');
  });
});
