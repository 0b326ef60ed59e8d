import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { SseParser } from '../../src/proxy/transform/sse.ts';
import { z } from 'zod';
import { errors, startFakeUpstream } from '../fake-upstream/index.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const NATIVE = 'claude-sonnet-4'; // lists /v1/messages in the fake's /models
const TRANSLATED = 'gpt-4.1'; // chat completions only

const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

function textOf(m: Anthropic.Message): string {
  return m.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
}

async function rawEvents(url: string, body: unknown): Promise<Array<{ event: string | undefined; data: Record<string, unknown> }>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200);
  const p = new SseParser();
  return [...p.push(await res.text()), ...p.end()].map((e) => ({ event: e.event, data: JSON.parse(e.data) as Record<string, unknown> }));
}

describe('Anthropic Messages API through the proxy with the official Anthropic SDK', () => {
  let h: Harness;
  let client: Anthropic;
  before(async () => {
    h = await startHarness({ config: { model_map: { 'claude-alias': NATIVE, 'gpt-alias': TRANSLATED } } });
    client = new Anthropic({ baseURL: h.url, apiKey: 'dummy', maxRetries: 0 });
  });
  after(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.fake.clear();
    h.fake.clearInjections();
  });

  for (const [path, model] of [
    ['native', NATIVE],
    ['translated', TRANSLATED],
  ] as const) {
    describe(`${path} (${model})`, () => {
      const upstreamPath = path === 'native' ? '/v1/messages' : '/chat/completions';

      test('non-stream: text, stop_reason, usage; the right Copilot endpoint; initiator user', async () => {
        const m = await client.messages.create({ model, max_tokens: 100, system: 'Be brief.', messages: [{ role: 'user', content: 'hello there' }] });
        assert.equal(m.type, 'message');
        assert.equal(m.role, 'assistant');
        assert.equal(textOf(m), 'Echo: hello there');
        assert.equal(m.stop_reason, 'end_turn');
        assert.ok(m.usage.input_tokens > 0 && m.usage.output_tokens > 0);
        assert.match(m.id, /^msg_/);
        const up = h.fake.last(upstreamPath);
        assert.ok(up, `went to ${upstreamPath}`);
        assert.equal(h.fake.counts.messages + h.fake.counts.chat, 1);
        assert.equal(up.headers['x-initiator'], 'user');
        assert.equal(up.headers['copilot-integration-id'], 'vscode-chat');
        if (path === 'translated') {
          const body = up.body as { messages: Array<{ role: string; content: unknown }>; max_tokens: number };
          assert.deepEqual(body.messages[0], { role: 'system', content: 'Be brief.' });
          assert.equal(body.max_tokens, 100);
        } else {
          assert.match(up.headers['anthropic-version'] ?? '', /^\d{4}-\d{2}-\d{2}$/, "the SDK's anthropic-version is forwarded");
        }
      });

      test('stream: messages.stream().finalMessage(), events relayed as they arrive', async () => {
        h.fake.chunkDelayMs = 50;
        try {
          const stream = client.messages.stream({ model, max_tokens: 100, messages: [{ role: 'user', content: 'one two three four five' }] });
          const arrivals: number[] = [];
          let deltas = '';
          stream.on('streamEvent', () => arrivals.push(Date.now()));
          stream.on('text', (t) => {
            deltas += t;
          });
          const m = await stream.finalMessage();
          assert.equal(textOf(m), 'Echo: one two three four five');
          assert.equal(deltas, 'Echo: one two three four five');
          assert.equal(m.stop_reason, 'end_turn');
          assert.ok(m.usage.output_tokens > 0);
          assert.ok(m.usage.input_tokens > 0, 'input tokens reach the client (message_start or message_delta)');
          const span = (arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0);
          assert.ok(span >= 200, `events spread over time (span ${span} ms), not buffered`);
          assert.ok(h.fake.last(upstreamPath));
        } finally {
          h.fake.chunkDelayMs = 5;
        }
      });

      test('tool use round trip (streamed first turn): tool_use block, tool_result answered, initiator agent', async () => {
        const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];
        const first = await client.messages.stream({ model, max_tokens: 200, tools: [weatherTool], messages }).finalMessage();
        assert.equal(first.stop_reason, 'tool_use');
        const use = first.content.find((b) => b.type === 'tool_use');
        assert.ok(use && use.type === 'tool_use');
        assert.equal(use.name, 'get_weather');
        assert.deepEqual(use.input, { city: 'Paris' });
        assert.equal(h.fake.last(upstreamPath)?.headers['x-initiator'], 'user');

        messages.push({ role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny, 21°C' }] });
        const second = await client.messages.create({ model, max_tokens: 200, tools: [weatherTool], messages });
        assert.equal(textOf(second), 'The weather is sunny, 21°C');
        assert.equal(h.fake.last(upstreamPath)?.headers['x-initiator'], 'agent');
        if (path === 'translated') {
          const body = h.fake.last(upstreamPath)?.body as { messages: Array<{ role: string; tool_call_id?: string }>; tools: unknown[] };
          assert.equal(body.messages.at(-1)?.role, 'tool');
          assert.equal(body.messages.at(-1)?.tool_call_id, use.id);
          assert.equal(body.tools.length, 1);
        }
      });

      test('image block: Copilot-Vision-Request set, image reaches Copilot', async () => {
        const m = await client.messages.create({
          model,
          max_tokens: 50,
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: 'What is this?' },
                { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
              ],
            },
          ],
        });
        assert.equal(textOf(m), 'I see an image');
        const up = h.fake.last(upstreamPath);
        assert.equal(up?.headers['copilot-vision-request'], 'true');
        if (path === 'translated') {
          const parts = (up?.body as { messages: Array<{ content: Array<{ type: string; image_url?: { url: string } }> }> }).messages[0]?.content;
          assert.deepEqual(parts?.map((p) => p.type), ['text', 'image_url']);
          assert.equal(parts?.[1]?.image_url?.url, `data:image/png;base64,${PNG}`);
        }
      });
    });
  }

  test('native: anthropic-version defaulted when absent', async () => {
    const res = await fetch(`${h.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: NATIVE, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(res.status, 200);
    assert.equal(h.fake.last('/v1/messages')?.headers['anthropic-version'], '2023-06-01');
  });

  test('native: anthropic-version and anthropic-beta forwarded; model_map applied', async () => {
    await client.messages.create(
      { model: 'claude-alias', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14' } },
    );
    const up = h.fake.last('/v1/messages');
    assert.equal((up?.body as { model: string }).model, NATIVE);
    assert.equal(up?.headers['anthropic-beta'], 'interleaved-thinking-2025-05-14');
    assert.ok(up?.headers['anthropic-version']);
  });

  test('translated stream: Anthropic event sequence with named SSE events; /messages alias', async () => {
    const events = await rawEvents(`${h.url}/messages`, { model: 'gpt-alias', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'a b' }] });
    assert.deepEqual(
      events.map((e) => e.event),
      ['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'],
    );
    for (const e of events) assert.equal(e.data.type, e.event);
    assert.equal((h.fake.last('/chat/completions')?.body as { model: string }).model, TRANSLATED);
  });

  test('count_tokens: an estimate, no upstream call', async () => {
    const small = await client.messages.countTokens({ model: NATIVE, messages: [{ role: 'user', content: 'hi' }] });
    const big = await client.messages.countTokens({
      model: TRANSLATED,
      system: 'You are a helpful assistant. '.repeat(20),
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'hello '.repeat(100) }],
    });
    assert.ok(small.input_tokens > 0);
    assert.ok(big.input_tokens > small.input_tokens + 150, `${big.input_tokens} grows with system, tools and messages`);
    assert.equal(h.fake.counts.messages + h.fake.counts.chat, 0);
  });

  test('errors in the Anthropic shape: unknown model, bad body, upstream 429', async () => {
    await assert.rejects(
      client.messages.create({ model: 'no-such-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => {
        assert.ok(e instanceof Anthropic.NotFoundError, String(e));
        const body = e.error as { type?: string; error?: { type?: string; message?: string } };
        assert.equal(body.type, 'error');
        assert.equal(body.error?.type, 'not_found_error');
        assert.match(body.error?.message ?? '', /"no-such-model" is not available.*Available models: .*claude-sonnet-4/);
        return true;
      },
    );

    const res = await fetch(`${h.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: TRANSLATED, max_tokens: 10 }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /^messages: /);

    const unsupported = await fetch(`${h.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: TRANSLATED, max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', data: 'x' } }] }] }),
    });
    assert.equal(unsupported.status, 400);
    assert.match(((await unsupported.json()) as { error: { message: string } }).error.message, /messages\.0\.content\.0.*cannot be translated/);

    // Upstream errors keep their status, with Copilot's message as text, in Anthropic's envelope.
    for (const [model, path] of [
      [TRANSLATED, '/chat/completions'],
      [NATIVE, '/v1/messages'],
    ] as const) {
      h.fake.failNext(1, { ...errors.quotaExceeded(), path });
      const quota = await fetch(`${h.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
      });
      assert.equal(quota.status, 402);
      assert.deepEqual(await quota.json(), { type: 'error', error: { type: 'billing_error', message: 'You have no quota' } });
    }
  });

  test('a client that goes away mid-stream aborts the upstream request (both paths)', async () => {
    h.fake.chunkDelayMs = 100;
    try {
      for (const model of [TRANSLATED, NATIVE]) {
        const before = h.fake.abortedRequests;
        const stream = client.messages.stream({ model, max_tokens: 50, messages: [{ role: 'user', content: 'a b c d e f g h i j k l m n o p' }] });
        const settled = stream.finalMessage().then(
          () => 'completed',
          (e: unknown) => (e instanceof Anthropic.APIUserAbortError ? 'aborted' : String(e)),
        );
        await new Promise<void>((resolve) => stream.once('text', () => resolve()));
        stream.abort();
        assert.equal(await settled, 'aborted');
        const deadline = Date.now() + 2000;
        while (h.fake.abortedRequests === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.equal(h.fake.abortedRequests, before + 1, `${model}: upstream aborted`);
      }
    } finally {
      h.fake.chunkDelayMs = 5;
    }
  });

  test('a stream Copilot cuts off ends with an Anthropic error event', async () => {
    for (const [model, path] of [
      [TRANSLATED, '/chat/completions'],
      [NATIVE, '/v1/messages'],
    ] as const) {
      h.fake.faultNext(1, 'reset-mid-stream', { path, afterChunks: 3 });
      const events = await rawEvents(`${h.url}/v1/messages`, { model, max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'one two three four' }] });
      const last = events.at(-1);
      assert.equal(last?.event, 'error', `${model}: ${JSON.stringify(events.map((e) => e.event))}`);
      assert.equal(last?.data.type, 'error');
      assert.equal((last?.data.error as { type: string }).type, 'api_error');
      await assert.rejects(
        (async () => {
          h.fake.faultNext(1, 'reset-mid-stream', { path, afterChunks: 3 });
          await client.messages.stream({ model, max_tokens: 10, messages: [{ role: 'user', content: 'one two three four' }] }).finalMessage();
        })(),
        (e: unknown) => e instanceof Anthropic.APIError,
      );
    }
  });
});

describe('thinking blocks come back to Copilot (reasoning round trip)', () => {
  let h: Harness;
  let client: Anthropic;
  before(async () => {
    const fake = await startFakeUpstream();
    const sonnet = fake.models.find((m) => m.id === NATIVE);
    assert.ok(sonnet);
    // Copilot lists a thinking budget range for its Claude models (caozhiyuan/copilot-api reads these two fields).
    Object.assign(sonnet.capabilities.supports, { min_thinking_budget: 1024, max_thinking_budget: 32000 });
    h = await startHarness({ upstream: fake });
    client = new Anthropic({ baseURL: h.url, apiKey: 'dummy', maxRetries: 0 });
  });
  after(async () => {
    await h.close();
    await h.fake.close();
  });
  beforeEach(() => h.fake.clear());

  const turns = (model: string): Anthropic.MessageCreateParamsNonStreaming => ({
    model,
    max_tokens: 16000, // the SDK refuses a non-stream call it expects to take over 10 minutes
    thinking: { type: 'enabled', budget_tokens: 50_000 },
    messages: [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'I should answer.', signature: 'sig-opaque-1' }, { type: 'text', text: 'Sunny.' }] },
      { role: 'user', content: 'thanks' },
    ],
  });

  test('translated (chat completions): the thinking block reaches Copilot as reasoning_text + reasoning_opaque', async () => {
    await client.messages.create(turns(TRANSLATED));
    const body = z.object({ messages: z.array(z.record(z.string(), z.unknown())), thinking_budget: z.number().optional() }).parse(h.fake.last('/chat/completions')?.body);
    const assistant = body.messages.find((m) => m.role === 'assistant');
    assert.equal(assistant?.reasoning_opaque, 'sig-opaque-1');
    assert.equal(assistant?.reasoning_text, 'I should answer.');
    assert.equal(body.thinking_budget, 15_999, 'gpt-4.1 lists no thinking budget range: only kept below max_tokens (16,000)');
  });

  test('native (/v1/messages): thinking blocks with their signature pass unchanged; budget_tokens clamped to max_thinking_budget and below max_tokens', async () => {
    await client.messages.create(turns(NATIVE));
    const body = z
      .object({ messages: z.array(z.object({ role: z.string(), content: z.unknown() })), thinking: z.object({ budget_tokens: z.number() }).passthrough() })
      .parse(h.fake.last('/v1/messages')?.body);
    assert.deepEqual(body.messages[1]?.content, [{ type: 'thinking', thinking: 'I should answer.', signature: 'sig-opaque-1' }, { type: 'text', text: 'Sunny.' }]);
    assert.equal(body.thinking.budget_tokens, 15_999, 'min(50,000 asked, 32,000 the model takes, max_tokens 16,000 - 1)');
  });
});
