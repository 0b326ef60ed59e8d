import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { z } from 'zod';
import { startHarness, type Harness } from '../helpers/harness.ts';

/**
 * Reasoning survives the round trip, with a fake that thinks when asked and sends
 * `reasoning_text` + `reasoning_opaque` as Copilot does (test/fixtures/copilot/README.md):
 * what the client got back on one turn reaches Copilot unchanged on the next, on the
 * Chat Completions route as sent and on the translated Messages path as a thinking block's signature.
 */

const chatBody = z.object({ messages: z.array(z.record(z.string(), z.unknown())) });
const chatAnswer = z.object({ choices: z.array(z.object({ message: z.object({ content: z.string().nullable(), reasoning_text: z.string(), reasoning_opaque: z.string() }) })) });

describe('reasoning round trip', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.close());
  beforeEach(() => h.fake.clear());

  async function chat(body: unknown): Promise<Response> {
    return fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  test('chat: reasoning_opaque from the answer comes back to Copilot unchanged on the next turn (whole and streamed)', async () => {
    const first = chatAnswer.parse(await (await chat({ model: 'claude-sonnet-4', thinking_budget: 2048, messages: [{ role: 'user', content: 'is it sunny?' }] })).json());
    const m = first.choices[0]?.message;
    assert.ok(m && m.reasoning_opaque.startsWith('rsn_'), 'the client gets the opaque reasoning');
    const r = await chat({
      model: 'claude-sonnet-4',
      messages: [{ role: 'user', content: 'is it sunny?' }, { role: 'assistant', content: m.content, reasoning_text: m.reasoning_text, reasoning_opaque: m.reasoning_opaque }, { role: 'user', content: 'thanks' }],
    });
    assert.equal(r.status, 200);
    const sent = chatBody.parse(h.fake.last('/chat/completions')?.body).messages.find((x) => x.role === 'assistant');
    assert.equal(sent?.reasoning_opaque, m.reasoning_opaque);
    assert.equal(sent?.reasoning_text, m.reasoning_text);

    // Streamed: the opaque value arrives in a delta, as Copilot sends it.
    const text = await (await chat({ model: 'claude-sonnet-4', stream: true, thinking_budget: 2048, messages: [{ role: 'user', content: 'is it sunny?' }] })).text();
    const opaques = [...text.matchAll(/"reasoning_opaque":"([^"]+)"/g)].map((x) => x[1]);
    assert.deepEqual(opaques, [m.reasoning_opaque]);
    assert.match(text, /"reasoning_text":"Thinking/);
  });

  test('Messages translated to Chat: Copilot\'s reasoning is a thinking block with its signature, and the signature goes back as reasoning_opaque', async () => {
    const client = new Anthropic({ baseURL: h.url, apiKey: 'dummy', maxRetries: 0 });
    const ask = { model: 'gpt-4.1', max_tokens: 4096, thinking: { type: 'enabled' as const, budget_tokens: 2048 } };
    const first = await client.messages.create({ ...ask, messages: [{ role: 'user', content: 'is it sunny?' }] });
    const thinking = first.content[0];
    assert.ok(thinking?.type === 'thinking', 'the thinking block comes first');
    assert.match(thinking.signature, /^rsn_/);
    assert.match(thinking.thinking, /^Thinking about: is it sunny\?/);
    // The same through the SDK's stream (signature_delta).
    const streamed = await client.messages.stream({ ...ask, messages: [{ role: 'user', content: 'is it sunny?' }] }).finalMessage();
    const st = streamed.content[0];
    assert.ok(st?.type === 'thinking');
    assert.equal(st.signature, thinking.signature);

    await client.messages.create({ ...ask, messages: [{ role: 'user', content: 'is it sunny?' }, { role: 'assistant', content: first.content }, { role: 'user', content: 'thanks' }] });
    const sent = chatBody.parse(h.fake.last('/chat/completions')?.body).messages.find((x) => x.role === 'assistant');
    assert.equal(sent?.reasoning_opaque, thinking.signature);
    assert.equal(sent?.reasoning_text, thinking.thinking);
  });
});
