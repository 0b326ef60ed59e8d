import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toChatRequest, translatableRequestSchema } from './request.ts';
import { fromChatCompletion } from './response.ts';
import { AnthropicStreamTranslator } from './stream.ts';
import { parseOrThrow } from '../validate.ts';

const translate = (body: unknown) => toChatRequest(parseOrThrow(translatableRequestSchema, body), 'claude-sonnet-4');

describe('Anthropic thinking <-> Copilot chat reasoning_text / reasoning_opaque', () => {
  test('assistant thinking blocks become reasoning_text + reasoning_opaque (the signature); redacted_thinking is left out', () => {
    const out = translate({
      model: 'claude-sonnet-4',
      max_tokens: 100,
      messages: [
        { role: 'user', content: 'weather?' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'The user wants weather.', signature: 'sig-abc' },
            { type: 'redacted_thinking', data: 'ENCRYPTED' },
            { type: 'text', text: 'Let me check.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' }] },
      ],
    });
    const messages = out.messages;
    assert.ok(Array.isArray(messages));
    const assistant = messages[1];
    assert.deepEqual(assistant, {
      role: 'assistant',
      content: 'Let me check.',
      reasoning_text: 'The user wants weather.',
      reasoning_opaque: 'sig-abc',
      tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
    });
    assert.equal(JSON.stringify(out).includes('ENCRYPTED'), false);
  });

  test('thinking.budget_tokens goes to Copilot as thinking_budget', () => {
    const out = translate({ model: 'x', max_tokens: 100, thinking: { type: 'enabled', budget_tokens: 2048 }, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(out.thinking_budget, 2048);
  });

  test('non-stream: reasoning_text/reasoning_opaque become a thinking block with its signature, first', () => {
    const m = fromChatCompletion(
      { choices: [{ message: { role: 'assistant', content: 'Sunny.', reasoning_text: 'Think.', reasoning_opaque: 'sig-1' }, finish_reason: 'stop' }] },
      'claude-sonnet-4',
      () => 'msg_1',
    );
    assert.deepEqual(m.content, [
      { type: 'thinking', thinking: 'Think.', signature: 'sig-1' },
      { type: 'text', text: 'Sunny.' },
    ]);
  });

  test('stream: reasoning_text deltas then reasoning_opaque make a thinking block closed by signature_delta, before the text', () => {
    const tr = new AnthropicStreamTranslator({ model: 'claude-sonnet-4', newId: () => 'msg_1' });
    const chunks = [
      { choices: [{ index: 0, delta: { reasoning_text: 'Let me ' } }] },
      { choices: [{ index: 0, delta: { reasoning_text: 'think.' } }] },
      { choices: [{ index: 0, delta: { content: '', reasoning_opaque: 'sig-xyz' } }] },
      { choices: [{ index: 0, delta: { content: 'Sunny.' } }] },
      { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
    ];
    const events = [...chunks.flatMap((c) => tr.push(c)), ...tr.finish()];
    const blockEvents = events.filter((e) => e.event.startsWith('content_block')).map((e) => e.data);
    assert.deepEqual(blockEvents, [
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Let me ' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'think.' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig-xyz' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Sunny.' } },
      { type: 'content_block_stop', index: 1 },
    ]);
  });
});
