import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidRequestError } from '../../errors.ts';
import { ChatChunkNormalizer, hasImage, initiatorOf, normalizeChatCompletion, prepareChat } from './chat.ts';

const fixedNow = () => 1_700_000_000_000;

describe('prepareChat', () => {
  test('keeps the requested model (the router maps it), marks initiator and vision, forces upstream usage on streams', () => {
    const prep = prepareChat(
      {
        model: 'gpt-4',
        stream: true,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AA' } }] }],
      },
    );
    assert.equal(prep.model, 'gpt-4');
    assert.equal(prep.upstreamBody.model, 'gpt-4');
    assert.equal(prep.initiator, 'user');
    assert.equal(prep.vision, true);
    assert.equal(prep.stream, true);
    assert.equal(prep.clientWantsUsage, false);
    assert.deepEqual(prep.upstreamBody.stream_options, { include_usage: true });
  });

  test('rejects bodies without model or messages with a param name', () => {
    assert.throws(() => prepareChat({ messages: [] }), (e: unknown) => e instanceof InvalidRequestError && e.param === 'model');
    assert.throws(() => prepareChat({ model: 'x', messages: [] }), (e: unknown) => e instanceof InvalidRequestError && e.param === 'messages');
    assert.throws(() => prepareChat({ model: 'x', messages: 'hi' }), (e: unknown) => e instanceof InvalidRequestError && e.status === 400);
  });

  test('initiator is agent for tool results and assistant turns', () => {
    assert.equal(initiatorOf([{ role: 'user' }, { role: 'assistant' }, { role: 'tool' }]), 'agent');
    assert.equal(initiatorOf([{ role: 'system' }, { role: 'assistant' }]), 'agent');
    assert.equal(initiatorOf([{ role: 'assistant' }, { role: 'user' }]), 'user');
  });

  test('hasImage only for image parts', () => {
    assert.equal(hasImage([{ content: 'an image_url in text' }]), false);
    assert.equal(hasImage([{ content: [{ type: 'text', text: 'x' }] }]), false);
    assert.equal(hasImage([{ content: [{ type: 'image_url' }] }]), true);
  });
});

describe('ChatChunkNormalizer', () => {
  // Recorded shape of a Copilot stream: the prompt-filter chunk first, usage in a trailing empty-choices chunk.
  const copilotStream = [
    { choices: [], created: 0, id: '', prompt_filter_results: [{ content_filter_results: {}, prompt_index: 0 }] },
    { choices: [{ index: 0, delta: { content: 'Hel', role: 'assistant' }, content_filter_results: {} }], created: 1731000000, id: 'chatcmpl-abc', model: 'gpt-4.1-2025-04-14' },
    { choices: [{ index: 0, delta: { content: 'lo' } }], created: 1731000000, id: 'chatcmpl-abc', model: 'gpt-4.1-2025-04-14' },
    { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], created: 1731000000, id: 'chatcmpl-abc', model: 'gpt-4.1-2025-04-14' },
    { choices: [], created: 1731000000, id: 'chatcmpl-abc', model: 'gpt-4.1-2025-04-14', usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } },
  ];

  test('drops the prompt-filter chunk, stamps id/model/object, sends usage last when asked', () => {
    const n = new ChatChunkNormalizer({ clientWantsUsage: true, requestModel: 'gpt-4.1', now: fixedNow });
    const out = [...copilotStream.flatMap((c) => n.push(c)), ...n.finish()];
    assert.equal(out.length, 4);
    for (const c of out) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.id, 'chatcmpl-abc');
      assert.equal(c.model, 'gpt-4.1-2025-04-14');
    }
    assert.deepEqual(out[3]?.choices, []);
    assert.deepEqual(out[3]?.usage, { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 });
    assert.equal(out.slice(0, 3).some((c) => 'usage' in c), false);
  });

  test('keeps usage for the log but does not send it when the client did not ask', () => {
    const n = new ChatChunkNormalizer({ clientWantsUsage: false, requestModel: 'gpt-4.1', now: fixedNow });
    const out = [...copilotStream.flatMap((c) => n.push(c)), ...n.finish()];
    assert.equal(out.length, 3);
    assert.equal(n.usage?.total_tokens, 7);
  });

  test('usage inside the finish chunk is moved to its own final chunk', () => {
    const n = new ChatChunkNormalizer({ clientWantsUsage: true, requestModel: 'm', now: fixedNow });
    const out = [
      ...n.push({ id: 'x', choices: [{ index: 0, delta: { content: 'a' } }] }),
      ...n.push({ id: 'x', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }),
      ...n.finish(),
    ];
    assert.equal(out.length, 3);
    assert.equal('usage' in (out[1] ?? {}), false);
    assert.deepEqual(out[2]?.usage, { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 });
    assert.equal(out[2]?.model, 'm');
  });

  test('invents a stable id and created when Copilot sends none', () => {
    const n = new ChatChunkNormalizer({ clientWantsUsage: false, requestModel: 'm', now: fixedNow, newId: () => 'chatcmpl-fixed' });
    const out = [...n.push({ id: '', choices: [{ index: 0, delta: { content: 'a' } }] }), ...n.push({ choices: [{ index: 0, delta: {} }] })];
    assert.deepEqual(out.map((c) => [c.id, c.created]), [['chatcmpl-fixed', 1_700_000_000], ['chatcmpl-fixed', 1_700_000_000]]);
  });

  test("pushSse sends a chunk that needs nothing but `object` as Copilot's own text, and any other re-serialised", () => {
    const n = new ChatChunkNormalizer({ clientWantsUsage: false, requestModel: 'gpt-4.1', now: fixedNow });
    const sse = (chunk: string) => n.pushSse(JSON.parse(chunk), chunk);
    assert.deepEqual(sse(JSON.stringify(copilotStream[0])), [], 'the prompt-filter chunk is dropped');
    // Copilot's escapes and spacing survive: the text was not parsed and re-serialised.
    const first = '{"choices":[{"index":0,"delta":{"content":"caf\\u00e9","role":"assistant"}}], "created":1731000000,"id":"chatcmpl-abc","model":"gpt-4.1-2025-04-14"}';
    assert.deepEqual(sse(first), [`data: {"object":"chat.completion.chunk",${first.slice(1)}\n\n`]);
    // A second id is not the stream's: that chunk is stamped with the first, so it is re-serialised.
    const other = '{"choices":[{"index":0,"delta":{"content":"caf\\u00e9"}}],"created":1731000000,"id":"chatcmpl-other","model":"gpt-4.1-2025-04-14"}';
    const [restamped] = sse(other);
    assert.ok(restamped?.includes('"id":"chatcmpl-abc"') && restamped.includes('café'), restamped);
    // Usage is taken out of the chunk, reasoning_text gains reasoning_content: both re-serialised.
    const withUsage = '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"created":1731000000,"id":"chatcmpl-abc","model":"gpt-4.1-2025-04-14","usage":{"total_tokens":3}}';
    assert.equal(sse(withUsage)[0]?.includes('usage'), false);
    const reasoning = '{"choices":[{"index":1,"delta":{"reasoning_text":"hm"}}],"created":1731000000,"id":"chatcmpl-abc","model":"gpt-4.1-2025-04-14"}';
    assert.ok(sse(reasoning)[0]?.includes('"reasoning_content":"hm"'));
  });

  test('non-JSON-object chunks are ignored', () => {
    const n = new ChatChunkNormalizer({ clientWantsUsage: false, requestModel: 'm' });
    assert.deepEqual(n.push('garbage'), []);
    assert.deepEqual(n.push(null), []);
  });
});

test('normalizeChatCompletion fills object, id, created and model', () => {
  const out = normalizeChatCompletion({ choices: [{ index: 0, message: { role: 'assistant', content: 'x' } }], id: '' }, 'gpt-4.1', fixedNow);
  assert.equal(out.object, 'chat.completion');
  assert.equal(out.model, 'gpt-4.1');
  assert.equal(out.created, 1_700_000_000);
  assert.match(String(out.id), /^chatcmpl-/);
});

test('Copilot reasoning_text is also offered as reasoning_content, stream and non-stream', () => {
  const n = new ChatChunkNormalizer({ clientWantsUsage: false, requestModel: 'claude-sonnet-4', now: fixedNow });
  const [chunk] = n.push({ id: 'x', choices: [{ index: 0, delta: { reasoning_text: 'Let me think', reasoning_opaque: 'abc' } }] });
  const delta = (chunk?.choices as Array<{ delta: Record<string, unknown> }>)[0]?.delta;
  assert.equal(delta?.reasoning_content, 'Let me think');
  assert.equal(delta?.reasoning_opaque, 'abc');
  const full = normalizeChatCompletion({ id: 'y', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi', reasoning_text: 'hmm' } }] }, 'm', fixedNow);
  const message = (full.choices as Array<{ message: Record<string, unknown> }>)[0]?.message;
  assert.equal(message?.reasoning_content, 'hmm');
  assert.equal(message?.content, 'Hi');
  const plain = n.push({ id: 'x', choices: [{ index: 0, delta: { content: 'a' } }] });
  assert.equal('reasoning_content' in ((plain[0]?.choices as Array<{ delta: object }>)[0]?.delta ?? {}), false);
});
