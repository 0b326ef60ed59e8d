import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { z } from 'zod';
import { startFakeUpstream } from '../fake-upstream/index.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';

/**
 * Model routing (issue: real clients): model names clients really send, the
 * responses-only Codex family reached from Chat Completions and Messages, and
 * system messages inside Anthropic `messages` as Claude Code sends them.
 */

const WEATHER_TOOL = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

function logLines(h: Harness): string[] {
  return fs.readFileSync(h.logFile, 'utf8').split('\n');
}

async function eventually<T>(fn: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('Chat Completions for a responses-only model (gpt-5-codex)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });
  beforeEach(() => h.fake.clear());

  test('non-stream: translated to /responses and back, usage counted, X-Initiator user', async () => {
    const r = await h.openai.chat.completions.create({
      model: 'gpt-5-codex',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hello codex' },
      ],
      max_tokens: 1_000_000,
      temperature: 0.2,
    });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0]?.message.content, 'Echo: hello codex');
    assert.equal(r.choices[0]?.finish_reason, 'stop');
    assert.ok((r.usage?.prompt_tokens ?? 0) > 0 && (r.usage?.completion_tokens ?? 0) > 0);
    assert.equal(h.fake.counts.chat, 0, 'nothing went to /chat/completions');
    const up = h.fake.last('/responses');
    assert.ok(up);
    assert.equal(up.headers['x-initiator'], 'user');
    const body = up.body as Record<string, unknown>;
    assert.equal(body.model, 'gpt-5-codex');
    assert.equal(body.max_output_tokens, 128000, 'lowered to the model\'s max_output_tokens');
    assert.equal(body.temperature, 0.2);
    assert.deepEqual(body.input, [
      { type: 'message', role: 'system', content: 'Be brief.' },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello codex' }] },
    ]);
  });

  test('stream with include_usage: text deltas, finish_reason, usage last', async () => {
    const stream = await h.openai.chat.completions.create({
      model: 'gpt-5-codex',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'streamed codex words' }],
    });
    let text = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
      if (c.usage) usage = c.usage;
      assert.equal(c.object, 'chat.completion.chunk');
    }
    assert.equal(text, 'Echo: streamed codex words');
    assert.equal(finish, 'stop');
    assert.ok((usage?.completion_tokens ?? 0) > 0);
  });

  test('tools, streamed: a tool call with its arguments, then the tool result round trip (agent initiator)', async () => {
    const stream = await h.openai.chat.completions.create({
      model: 'gpt-5-codex',
      stream: true,
      tools: [WEATHER_TOOL],
      tool_choice: 'auto',
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    });
    const calls = new Map<number, { id?: string; name?: string; args: string }>();
    let finish: string | null | undefined;
    for await (const c of stream) {
      for (const tc of c.choices[0]?.delta?.tool_calls ?? []) {
        const cur = calls.get(tc.index) ?? { args: '' };
        if (tc.id) cur.id = tc.id;
        if (tc.function?.name) cur.name = tc.function.name;
        cur.args += tc.function?.arguments ?? '';
        calls.set(tc.index, cur);
      }
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(finish, 'tool_calls');
    const call = calls.get(0);
    assert.ok(call?.id);
    assert.equal(call.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.args), { city: 'Paris' });
    const tools = (h.fake.last('/responses')?.body as { tools?: unknown[] }).tools;
    assert.deepEqual(tools, [{ type: 'function', name: 'get_weather', description: 'Weather for a city', parameters: WEATHER_TOOL.function.parameters, strict: false }]);

    const r = await h.openai.chat.completions.create({
      model: 'gpt-5-codex',
      tools: [WEATHER_TOOL],
      messages: [
        { role: 'user', content: 'What is the weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function', function: { name: 'get_weather', arguments: call.args } }] },
        { role: 'tool', tool_call_id: call.id, content: 'sunny, 21 C' },
      ],
    });
    assert.equal(r.choices[0]?.message.content, 'The weather is sunny, 21 C');
    const up = h.fake.last('/responses');
    assert.equal(up?.headers['x-initiator'], 'agent');
    const input = (up?.body as { input: Array<Record<string, unknown>> }).input;
    assert.deepEqual(input.slice(1), [
      { type: 'function_call', call_id: call.id, name: 'get_weather', arguments: call.args },
      { type: 'function_call_output', call_id: call.id, output: 'sunny, 21 C' },
    ]);
  });

  test('non-stream tool call comes back as tool_calls', async () => {
    const r = await h.openai.chat.completions.create({ model: 'gpt-5-codex', tools: [WEATHER_TOOL], messages: [{ role: 'user', content: 'weather in Paris?' }] });
    assert.equal(r.choices[0]?.finish_reason, 'tool_calls');
    assert.equal(r.choices[0]?.message.tool_calls?.[0]?.type, 'function');
  });

  test('response_format json_schema becomes text.format', async () => {
    await h.openai.chat.completions.create({
      model: 'gpt-5-codex',
      messages: [{ role: 'user', content: 'json please' }],
      response_format: { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' }, strict: true } },
    });
    assert.deepEqual((h.fake.last('/responses')?.body as { text?: unknown }).text, { format: { type: 'json_schema', name: 'out', schema: { type: 'object' }, strict: true } });
  });

  test('Anthropic Messages for gpt-5-codex goes through the same translation (stream and non-stream)', async () => {
    const client = new Anthropic({ baseURL: h.url, apiKey: 'dummy', maxRetries: 0 });
    const m = await client.messages.create({ model: 'gpt-5-codex', max_tokens: 100, messages: [{ role: 'user', content: 'hi from anthropic' }] });
    assert.deepEqual(m.content, [{ type: 'text', text: 'Echo: hi from anthropic' }]);
    assert.equal(m.stop_reason, 'end_turn');
    const s = await client.messages
      .stream({ model: 'gpt-5-codex', max_tokens: 100, tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }], messages: [{ role: 'user', content: 'weather in Paris?' }] })
      .finalMessage();
    assert.equal(s.stop_reason, 'tool_use');
    const tu = s.content.find((b) => b.type === 'tool_use');
    assert.ok(tu && tu.type === 'tool_use');
    assert.deepEqual(tu.input, { city: 'Paris' });
    assert.equal(h.fake.counts.chat, 0);
    assert.equal(h.fake.counts.messages, 0);
    assert.equal(h.fake.counts.responses, 2);
  });
});

describe('model names clients really send', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { log_level: 'info', model_map: { 'my-alias': 'gpt-4.1', 'claude-opus-4-8': 'gpt-4o' } } });
  });
  after(async () => {
    await h.close();
  });

  test('dated and -latest Claude names resolve to the Copilot id', async () => {
    const client = new Anthropic({ baseURL: h.url, apiKey: 'dummy', maxRetries: 0 });
    for (const name of ['claude-sonnet-4-20250514', 'claude-sonnet-4-latest', 'claude-sonnet-4-0']) {
      h.fake.clear();
      const m = await client.messages.create({ model: name, max_tokens: 20, messages: [{ role: 'user', content: 'x' }] });
      assert.equal(m.type, 'message', name);
      assert.equal((h.fake.last('/v1/messages')?.body as { model: string }).model, 'claude-sonnet-4', name);
    }
  });

  test('an unknown newer Claude falls back to the newest of its family, then the nearest family; said once in the log', async () => {
    const r1 = await h.openai.chat.completions.create({ model: 'claude-haiku-9', messages: [{ role: 'user', content: 'a' }] });
    await h.openai.chat.completions.create({ model: 'claude-haiku-9', messages: [{ role: 'user', content: 'b' }] });
    assert.equal(r1.choices[0]?.message.content, 'Echo: a');
    assert.equal((h.fake.last('/chat/completions')?.body as { model: string }).model, 'claude-sonnet-4');
    const lines = await eventually(() => {
      // Said once per resolved model (a bounded set), whichever name came first.
      const l = logLines(h).filter((x) => x.includes('-> "claude-sonnet-4" (fallback'));
      return l.length > 0 ? l : undefined;
    }, 'the fallback line');
    assert.equal(lines.length, 1, 'said once');
    const req = await eventually(() => logLines(h).find((x) => x.includes('model=claude-haiku-9 upstream_model=claude-sonnet-4')), 'the request line with both models');
    assert.match(req, /status=200/);
  });

  test('model_map always wins (over an exact id and over fallback)', async () => {
    h.fake.clear();
    await h.openai.chat.completions.create({ model: 'claude-opus-4-8', messages: [{ role: 'user', content: 'x' }] });
    assert.equal((h.fake.last('/chat/completions')?.body as { model: string }).model, 'gpt-4o');
    await h.openai.chat.completions.create({ model: 'my-alias', messages: [{ role: 'user', content: 'x' }] });
    assert.equal((h.fake.last('/chat/completions')?.body as { model: string }).model, 'gpt-4.1');
  });

  test('constructor, __proto__, toString are ordinary unknown names: 404 listing the ids, in each caller\'s shape', async () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const res = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: name, messages: [{ role: 'user', content: 'x' }] }) });
      assert.equal(res.status, 404, name);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'model_not_found');
      assert.match(body.error.message, /Available models: gpt-4\.1/);
      const a = await fetch(`${h.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: name, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }) });
      assert.equal(a.status, 404);
      assert.deepEqual(Object.keys((await a.json()) as object).sort(), ['error', 'type']);
    }
  });

  test('a request refused by validation still logs the model it asked for', async () => {
    await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'bad-body-1' }, body: JSON.stringify({ model: 'gpt-4.1', messages: 'nope' }) });
    const line = await eventually(() => logLines(h).find((x) => x.includes('id=bad-body-1')), 'the log line');
    assert.match(line, /status=400/);
    assert.match(line, /model=gpt-4\.1/);
  });

  test('max_tokens above the model limit is lowered (chat and messages)', async () => {
    h.fake.clear();
    await h.openai.chat.completions.create({ model: 'gpt-4.1', max_tokens: 999_999, messages: [{ role: 'user', content: 'x' }] });
    assert.equal((h.fake.last('/chat/completions')?.body as { max_tokens: number }).max_tokens, 16384);
    const res = await fetch(`${h.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4', max_tokens: 64000, messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(res.status, 200);
    assert.equal((h.fake.last('/v1/messages')?.body as { max_tokens: number }).max_tokens, 16000);
  });
});

describe('model_fallback off', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { model_fallback: false } });
  });
  after(async () => {
    await h.close();
  });

  test('an unknown Claude name is a 404 listing the ids', async () => {
    await assert.rejects(
      h.openai.chat.completions.create({ model: 'claude-opus-4-8', messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof OpenAI.NotFoundError && /Available models/.test(e.message),
    );
  });
});

describe('Claude Code requests with system entries inside messages (recorded bodies, through the proxy)', () => {
  const recorded = (name: string): { headers: Record<string, string>; body: Record<string, unknown> } => {
    const raw: unknown = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../fixtures/claude-code', name), 'utf8'));
    return z.object({ headers: z.record(z.string(), z.string()), body: z.record(z.string(), z.unknown()) }).parse(raw);
  };
  const send = async (h: Harness, name: string, extraBeta?: string) => {
    const { headers, body } = recorded(name);
    const beta = extraBeta ? `${headers['anthropic-beta'] ?? ''},${extraBeta}` : (headers['anthropic-beta'] ?? '');
    const res = await fetch(`${h.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { ...headers, 'anthropic-beta': beta, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };
  const upstreamRoles = (h: Harness, path: string) =>
    h.fake.requests.filter((r) => r.path === path).map((r) => z.object({ messages: z.array(z.object({ role: z.string() })) }).parse(r.body).messages.map((m) => m.role));

  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { log_level: 'info' } });
  });
  after(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.fake.clear();
    h.fake.acceptSystemRole = false;
    // The fake echoes Claude Code's whole first user message (thousands of words): no pacing between them.
    h.fake.chunkDelayMs = 0;
  });

  test('--model gpt-4.1 (translated): the system entry reaches /chat/completions in place', async () => {
    const r = await send(h, 'request.model-gpt-4.1.json');
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /event: message_stop/);
    const chat = z.object({ messages: z.array(z.object({ role: z.string() })) }).parse(h.fake.last('/chat/completions')?.body);
    assert.deepEqual(chat.messages.map((m) => m.role), ['system', 'user', 'system']);
  });

  test('default model (claude-opus-5-5 -> claude-sonnet-4, native), no beta declared: folded before sending, one upstream call', async () => {
    const r = await send(h, 'request.default-model.json');
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /event: message_stop/);
    assert.deepEqual(upstreamRoles(h, '/v1/messages'), [['user']]);
    assert.equal((h.fake.last('/v1/messages')?.body as { model: string }).model, 'claude-sonnet-4');
  });

  test('beta declared, Copilot refuses the role: retried once folded, then folded first for that model', async () => {
    const first = await send(h, 'request.default-model.json', 'mid-conversation-system-2026-04-07');
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(upstreamRoles(h, '/v1/messages'), [['user', 'system'], ['user']]);
    h.fake.clear();
    const second = await send(h, 'request.default-model.json', 'mid-conversation-system-2026-04-07');
    assert.equal(second.status, 200);
    assert.deepEqual(upstreamRoles(h, '/v1/messages'), [['user']], 'remembered: no refused attempt the second time');
  });
});

describe('Copilot that takes system entries (beta declared): passed through as sent', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    h.fake.acceptSystemRole = true;
  });
  after(async () => {
    await h.close();
  });

  test('one upstream call with the system entry in place', async () => {
    const raw: unknown = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../fixtures/claude-code/request.default-model.json'), 'utf8'));
    const { headers, body } = z.object({ headers: z.record(z.string(), z.string()), body: z.record(z.string(), z.unknown()) }).parse(raw);
    const res = await fetch(`${h.url}/v1/messages`, {
      method: 'POST',
      headers: { ...headers, 'anthropic-beta': `${headers['anthropic-beta'] ?? ''},mid-conversation-system-2026-04-07`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, await res.text());
    const sent = h.fake.requests.filter((r) => r.path === '/v1/messages');
    assert.equal(sent.length, 1);
    assert.deepEqual(z.object({ messages: z.array(z.object({ role: z.string() })) }).parse(sent[0]?.body).messages.map((m) => m.role), ['user', 'system']);
    assert.match(String(sent[0]?.headers['anthropic-beta']), /mid-conversation-system-2026-04-07/);
  });
});

describe('Claude ids as Copilot writes them (claude-opus-41 is Opus 4.1)', () => {
  let h: Harness;
  before(async () => {
    const fake = await startFakeUpstream();
    const sonnet = fake.models.find((m) => m.id === 'claude-sonnet-4');
    assert.ok(sonnet);
    const like = (id: string, name: string) => ({ ...structuredClone(sonnet), id, name, version: id, capabilities: { ...structuredClone(sonnet.capabilities), family: id } });
    fake.models.push(like('claude-opus-41', 'Claude Opus 4.1'), like('claude-opus-4.5', 'Claude Opus 4.5'), like('claude-sonnet-4.5', 'Claude Sonnet 4.5'), like('claude-haiku-4.5', 'Claude Haiku 4.5'));
    h = await startHarness({ upstream: fake });
  });
  after(async () => {
    await h.close();
    await h.fake.close();
  });

  test('unknown newer Opus names go to claude-opus-4.5; Opus 4.1 names still to claude-opus-41', async () => {
    const client = new Anthropic({ baseURL: h.url, apiKey: 'dummy', maxRetries: 0 });
    const cases: Array<[string, string]> = [
      ['claude-opus-4-6', 'claude-opus-4.5'],
      ['claude-3-opus-20240229', 'claude-opus-4.5'],
      ['claude-opus-latest', 'claude-opus-4.5'],
      ['claude-opus-4-1', 'claude-opus-41'],
      ['claude-opus-4.1', 'claude-opus-41'],
    ];
    for (const [name, want] of cases) {
      h.fake.clear();
      await client.messages.create({ model: name, max_tokens: 20, messages: [{ role: 'user', content: 'x' }] });
      assert.equal((h.fake.last('/v1/messages')?.body as { model: string }).model, want, name);
    }
  });

  test('GET /v1/models/{name} resolves like the chat routes: the id asked for, and the Copilot model behind it', async () => {
    const cases: Array<[string, string]> = [
      ['claude-opus-4-6', 'claude-opus-4.5'],
      ['claude-sonnet-4-20250514', 'claude-sonnet-4'],
      ['claude-opus-4.1', 'claude-opus-41'],
    ];
    for (const [name, want] of cases) {
      const m = z.object({ id: z.string(), resolved_id: z.string(), name: z.string() }).parse(await h.openai.models.retrieve(name));
      assert.equal(m.id, name, 'OpenAI SDKs expect the id they asked for');
      assert.equal(m.resolved_id, want, name);
    }
    const exact = await h.openai.models.retrieve('gpt-4.1');
    assert.equal(exact.id, 'gpt-4.1');
    assert.equal('resolved_id' in exact, false);
    for (const name of ['no-such-model', 'constructor']) {
      await assert.rejects(h.openai.models.retrieve(name), (e: unknown) => e instanceof OpenAI.NotFoundError, name);
    }
  });
});

describe('system entries folded next to tool results, and which 400 turns folding on', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.fake.clear();
    h.fake.acceptSystemRole = false;
  });
  const post = async (body: unknown, beta?: string) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' };
    if (beta) headers['anthropic-beta'] = beta;
    const res = await fetch(`${h.url}/v1/messages`, { method: 'POST', headers, body: JSON.stringify(body) });
    return { status: res.status, text: await res.text() };
  };
  const upstreamBodies = () =>
    h.fake.requests.filter((r) => r.path === '/v1/messages').map((r) => z.object({ messages: z.array(z.object({ role: z.string(), content: z.unknown() })) }).parse(r.body).messages);

  test('a system entry before a tool-result turn reaches Copilot after the tool_result blocks (Anthropic 400s otherwise)', async () => {
    const r = await post({
      model: 'claude-sonnet-4',
      max_tokens: 50,
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      messages: [
        { role: 'user', content: 'weather in Paris?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'system', content: 'Answer in one line.' },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'sunny' }] },
      ],
    });
    assert.equal(r.status, 200, r.text);
    const sent = upstreamBodies();
    assert.equal(sent.length, 1);
    const last = z.array(z.object({ type: z.string() }).passthrough()).parse(sent[0]?.at(-1)?.content);
    assert.deepEqual(last.map((b) => b.type), ['tool_result', 'text']);
    assert.match(JSON.stringify(last[1]), /Answer in one line/);
  });

  test('an unrelated 400 that mentions the system prompt reaches the client and does not turn folding on', async () => {
    const body = { model: 'claude-sonnet-4', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }, { role: 'system', content: 'be brief' }] };
    const beta = 'mid-conversation-system-2026-04-07';
    h.fake.failNext(1, {
      status: 400,
      path: '/v1/messages',
      headers: { 'content-type': 'application/json' },
      body: { type: 'error', error: { type: 'invalid_request_error', message: 'system: text content blocks must be non-empty' } },
    });
    const first = await post(body, beta);
    assert.equal(first.status, 400, first.text);
    assert.match(first.text, /text content blocks must be non-empty/);
    assert.equal(upstreamBodies().length, 1, 'not retried folded');
    h.fake.clear();
    // Copilot now refuses the role itself: that is the error that folds (and only then is it remembered).
    const second = await post(body, beta);
    assert.equal(second.status, 200, second.text);
    assert.deepEqual(upstreamBodies().map((ms) => ms.map((m) => m.role)), [['user', 'system'], ['user']]);
  });
});
