import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { SseParser } from '../../src/proxy/transform/sse.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';

const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

interface RawEvent {
  event: string | undefined;
  data: Record<string, unknown>;
}

async function rawStream(url: string, body: unknown): Promise<RawEvent[]> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const p = new SseParser();
  const events = [...p.push(await res.text()), ...p.end()];
  return events.map((e) => ({ event: e.event, data: JSON.parse(e.data) as Record<string, unknown> }));
}

describe('Responses API through the proxy with the official OpenAI SDK', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { model_map: { codex: 'gpt-5.1-codex' } } });
  });
  after(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.fake.clear();
    h.fake.clearInjections();
    h.fake.responsesStableIds = false; // Copilot's quirk, on
  });

  test('non-stream: output_text, usage, Copilot headers, initiator user', async () => {
    const r = await h.openai.responses.create({ model: 'gpt-4.1', input: 'hello there' });
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'completed');
    assert.equal(r.output_text, 'Echo: hello there');
    assert.ok((r.usage?.input_tokens ?? 0) > 0);
    const up = h.fake.last('/responses');
    assert.equal(up?.headers['x-initiator'], 'user');
    assert.equal(up?.headers['copilot-integration-id'], 'vscode-chat');
    assert.equal(up?.headers['copilot-vision-request'], undefined);
  });

  test('stream: responses.stream() + finalResponse() work across Copilot item-id drift', async () => {
    const stream = h.openai.responses.stream({ model: 'gpt-4.1', input: [{ role: 'user', content: 'one two three' }] });
    let text = '';
    const idsByIndex = new Map<number, Set<string>>();
    const note = (index: number, id: string | undefined) => {
      if (!id) return;
      if (!idsByIndex.has(index)) idsByIndex.set(index, new Set());
      idsByIndex.get(index)?.add(id);
    };
    for await (const ev of stream) {
      if (ev.type === 'response.output_text.delta') {
        text += ev.delta;
        note(ev.output_index, ev.item_id);
      }
      if (ev.type === 'response.output_item.added' || ev.type === 'response.output_item.done') note(ev.output_index, ev.item.id);
      if (ev.type === 'response.content_part.added' || ev.type === 'response.output_text.done') note(ev.output_index, ev.item_id);
    }
    const final = await stream.finalResponse();
    assert.equal(text, 'Echo: one two three');
    assert.equal(final.output_text, 'Echo: one two three');
    assert.equal(idsByIndex.size, 1);
    const ids = [...(idsByIndex.get(0) ?? [])];
    assert.equal(ids.length, 1, `one id per item, got ${ids.join(', ')}`);
    assert.equal(final.output[0]?.id, ids[0], 'response.completed carries the same item id');
    assert.ok((final.usage?.output_tokens ?? 0) > 0);
  });

  test('stream: events relayed as they arrive with event names; usage logged; /responses alias', async () => {
    h.fake.chunkDelayMs = 60;
    try {
      const stream = await h.openai.responses.create({ model: 'gpt-4.1', input: 'a b c d e', stream: true });
      const arrivals: number[] = [];
      const types: string[] = [];
      for await (const ev of stream) {
        arrivals.push(Date.now());
        types.push(ev.type);
      }
      assert.equal(types[0], 'response.created');
      assert.equal(types.at(-1), 'response.completed');
      const span = (arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0);
      assert.ok(span >= 300, `events spread over time (span ${span} ms), not buffered`);
    } finally {
      h.fake.chunkDelayMs = 5;
    }
    const events = await rawStream(`${h.url}/responses`, { model: 'gpt-4.1', input: 'x', stream: true });
    for (const e of events) assert.equal(e.event, e.data.type, 'each SSE event is named after its type');
  });

  test('tool call round trip: function_call streamed, function_call_output answered, initiator agent', async () => {
    const tools: OpenAI.Responses.Tool[] = [
      { type: 'function', name: 'get_weather', description: 'weather', strict: false, parameters: { type: 'object', properties: { city: { type: 'string' } } } },
    ];
    const input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: 'What is the weather in Paris?' }];
    const first = await h.openai.responses.stream({ model: 'gpt-4.1', input, tools }).finalResponse();
    const call = first.output.find((o) => o.type === 'function_call');
    assert.ok(call && call.type === 'function_call');
    assert.equal(call.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' });
    assert.equal(h.fake.last('/responses')?.headers['x-initiator'], 'user');

    input.push(
      { type: 'function_call', id: call.id, call_id: call.call_id, name: call.name, arguments: call.arguments },
      { type: 'function_call_output', call_id: call.call_id, output: 'sunny, 21°C' },
    );
    const second = await h.openai.responses.create({ model: 'gpt-4.1', input, tools });
    assert.equal(second.output_text, 'The weather is sunny, 21°C');
    assert.equal(h.fake.last('/responses')?.headers['x-initiator'], 'agent');
  });

  test('input_image sets Copilot-Vision-Request; a responses-only model works through model_map', async () => {
    const r = await h.openai.responses.create({
      model: 'gpt-4.1',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'What is this?' }, { type: 'input_image', image_url: PNG, detail: 'auto' }] }],
    });
    assert.equal(r.output_text, 'I see an image');
    assert.equal(h.fake.last('/responses')?.headers['copilot-vision-request'], 'true');

    const codex = await h.openai.responses.create({ model: 'codex', input: 'hi' });
    assert.equal(codex.output_text, 'Echo: hi');
    assert.equal((h.fake.last('/responses')?.body as { model: string }).model, 'gpt-5.1-codex');
  });

  test('errors: bad body → 400 with param; unsupported model → Copilot 400 kept', async () => {
    const res = await fetch(`${h.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4.1' }) });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { param: string } }).error.param, 'input');
    await assert.rejects(
      h.openai.responses.create({ model: 'claude-sonnet-4', input: 'x' }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.code === 'unsupported_api_for_model',
    );
  });

  test('a stream Copilot cuts off ends with an in-band error event, not a silent close', async () => {
    h.fake.faultNext(1, 'reset-mid-stream', { path: '/responses', afterChunks: 4 });
    const events = await rawStream(`${h.url}/v1/responses`, { model: 'gpt-4.1', input: 'one two three', stream: true });
    const last = events.at(-1);
    assert.equal(last?.event, 'error');
    assert.equal(last?.data.type, 'error');
    assert.match(String(last?.data.message), /stream/i);
    assert.ok(events.some((e) => e.event === 'response.created'));

    h.fake.faultNext(1, 'reset-mid-stream', { path: '/responses', afterChunks: 4 });
    await assert.rejects(
      h.openai.responses.stream({ model: 'gpt-4.1', input: 'one two three' }).finalResponse(),
      (e: unknown) => e instanceof OpenAI.APIError && /stream/i.test(e.message),
    );
  });
});
