import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ResponsesToChatStream, chatToResponsesRequest, responseToChatCompletion } from './chat-via-responses.ts';
import { parseChatRequest } from './chat.ts';

const now = () => 1_700_000_000_000;

function args(chunks: Record<string, unknown>[]): string {
  return chunks
    .flatMap((c) => (Array.isArray(c.choices) ? c.choices : []))
    .flatMap((ch: { delta?: { tool_calls?: Array<{ function?: { arguments?: string } }> } }) => ch.delta?.tool_calls ?? [])
    .map((t) => t.function?.arguments ?? '')
    .join('');
}

describe('Chat Completions <-> Responses (pure)', () => {
  test('request: system in place, images, tool calls and results, limits, json schema', () => {
    const req = parseChatRequest({
      model: 'gpt-5-codex',
      max_completion_tokens: 999_999,
      messages: [
        { role: 'system', content: 'sys' },
        { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AA', detail: 'low' } }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'ok' },
      ],
      tool_choice: { type: 'function', function: { name: 'f' } },
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      response_format: { type: 'json_object' },
    });
    const out = chatToResponsesRequest(req, 'gpt-5-codex', { stream: false, maxOutputTokens: 128_000 });
    assert.deepEqual(out.input, [
      { type: 'message', role: 'system', content: 'sys' },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'look' }, { type: 'input_image', image_url: 'data:image/png;base64,AA', detail: 'low' }] },
      { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{"a":1}' },
      { type: 'function_call_output', call_id: 'c1', output: 'ok' },
    ]);
    assert.equal(out.max_output_tokens, 128_000);
    assert.deepEqual(out.tool_choice, { type: 'function', name: 'f' });
    assert.deepEqual(out.text, { format: { type: 'json_object' } });
    assert.equal(out.store, false);
  });

  test('non-stream answer: text, reasoning, tool calls, finish reason, usage', () => {
    const c = responseToChatCompletion(
      {
        id: 'resp_1',
        created_at: 5,
        model: 'gpt-5-codex',
        status: 'incomplete',
        incomplete_details: { reason: 'max_output_tokens' },
        output: [
          { type: 'reasoning', summary: [{ type: 'summary_text', text: 'thinking' }] },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hel' }, { type: 'output_text', text: 'lo' }] },
        ],
        usage: { input_tokens: 3, output_tokens: 2, input_tokens_details: { cached_tokens: 1 } },
      },
      'gpt-5-codex',
      now,
    );
    assert.equal(c.id, 'chatcmpl-1');
    const choice = (c.choices as Array<{ message: Record<string, unknown>; finish_reason: string }>)[0];
    assert.equal(choice?.message.content, 'Hello');
    assert.equal(choice?.message.reasoning_content, 'thinking');
    assert.equal(choice?.finish_reason, 'length');
    assert.deepEqual(c.usage, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, prompt_tokens_details: { cached_tokens: 1 } });
  });

  test('stream: arguments whole in the added item are not repeated by later deltas; a missing stream id is minted', () => {
    const tr = new ResponsesToChatStream({ requestModel: 'gpt-5-codex', clientWantsUsage: true, now });
    const out = [
      ...tr.push({ type: 'response.created', response: { id: 'resp_9', model: 'gpt-5-codex' } }),
      ...tr.push({ type: 'response.output_item.added', output_index: 0, item: { type: 'function_call', call_id: 'c9', name: 'f', arguments: '{"a":1}' } }),
      ...tr.push({ type: 'response.function_call_arguments.delta', output_index: 0, delta: '{"a":1}' }),
      ...tr.push({ type: 'response.output_item.done', output_index: 0, item: { type: 'function_call', call_id: 'c9', name: 'f', arguments: '{"a":1}' } }),
      ...tr.push({ type: 'response.completed', response: { status: 'completed', usage: { input_tokens: 1, output_tokens: 1 } } }),
    ];
    assert.equal(args(out), '{"a":1}');
    assert.equal(tr.done, true);
    assert.ok(out.every((c) => c.id === 'chatcmpl-9'));
    const last = out.at(-1);
    assert.deepEqual(last?.choices, []);
    assert.deepEqual(last?.usage, { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 });
  });

  test('stream: arguments only in the done item are sent once; a failure is reported', () => {
    const tr = new ResponsesToChatStream({ requestModel: 'm', clientWantsUsage: false, now });
    const out = [
      ...tr.push({ type: 'response.output_item.added', output_index: 1, item: { type: 'function_call', call_id: 'c', name: 'g', arguments: '' } }),
      ...tr.push({ type: 'response.output_item.done', output_index: 1, item: { type: 'function_call', call_id: 'c', name: 'g', arguments: '{"b":2}' } }),
    ];
    assert.equal(args(out), '{"b":2}');
    tr.push({ type: 'response.failed', response: { status: 'failed' } });
    assert.match(tr.failure ?? '', /failed/);
  });
});
