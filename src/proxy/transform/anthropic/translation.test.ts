import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as z from 'zod';
import { foldSystemMessages } from './request.ts';
import { AnthropicStreamTranslator, type AnthropicEvent } from './stream.ts';

describe('foldSystemMessages', () => {
  test('a system entry before a tool-result turn lands after the tool_result blocks (Anthropic wants them first)', () => {
    const out = foldSystemMessages([
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }, { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: {} }] },
      { role: 'system', content: 'be brief' },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: 'rainy' },
          { type: 'text', text: 'and now?' },
        ],
      },
    ]);
    assert.deepEqual(out.map((m) => m.role), ['user', 'assistant', 'user']);
    const last = out[2]?.content;
    assert.ok(Array.isArray(last));
    assert.deepEqual(last.map((b) => b.type), ['tool_result', 'tool_result', 'text', 'text']);
    assert.deepEqual(last[2], { type: 'text', text: '<system>\nbe brief\n</system>' });
  });

  test('a turn without tool results still gets the system text at its start', () => {
    const out = foldSystemMessages([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'hi' },
    ]);
    assert.deepEqual(out, [{ role: 'user', content: [{ type: 'text', text: '<system>\nbe brief\n</system>' }, { type: 'text', text: 'hi' }] }]);
  });
});


/** Checks Anthropic's event grammar: one block open at a time, start < deltas < stop, indexes 0..n-1 in order; returns the blocks as a client would accumulate them. */
function accumulate(events: readonly AnthropicEvent[]): Array<Record<string, unknown>> {
  const blocks: Array<Record<string, unknown>> = [];
  let open: number | undefined;
  const names = events.map((e) => e.event);
  assert.equal(names[0], 'message_start');
  assert.deepEqual(names.slice(-2), ['message_delta', 'message_stop']);
  for (const e of events) {
    const d = e.data;
    if (e.event === 'content_block_start') {
      assert.equal(open, undefined, `block ${String(d.index)} started while ${String(open)} is open`);
      assert.equal(d.index, blocks.length, 'indexes in order');
      open = blocks.length;
      blocks.push({ ...z.record(z.string(), z.unknown()).parse(d.content_block), json: '' });
    } else if (e.event === 'content_block_delta') {
      assert.equal(d.index, open, `delta for block ${String(d.index)} while ${String(open)} is open`);
      const b = blocks[Number(d.index)];
      assert.ok(b);
      const delta = z.object({ type: z.string(), text: z.string().optional(), partial_json: z.string().optional(), thinking: z.string().optional(), signature: z.string().optional() }).parse(d.delta);
      if (delta.type === 'text_delta') b.text = String(b.text) + delta.text;
      if (delta.type === 'input_json_delta') b.json = String(b.json) + delta.partial_json;
      if (delta.type === 'thinking_delta') b.thinking = String(b.thinking) + delta.thinking;
      if (delta.type === 'signature_delta') b.signature = delta.signature;
    } else if (e.event === 'content_block_stop') {
      assert.equal(d.index, open);
      open = undefined;
    }
  }
  assert.equal(open, undefined, 'every block stopped');
  return blocks;
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({ choices: [{ index: 0, delta, finish_reason: finish }] });
const toolDelta = (index: number, args: string, first?: { id: string; name: string }) => ({
  tool_calls: [{ index, ...(first ? { id: first.id, type: 'function' } : {}), function: { ...(first ? { name: first.name } : {}), arguments: args } }],
});

describe('AnthropicStreamTranslator: block order', () => {
  test('interleaved parallel tool calls (0, 1, 0 again): no delta after its block stops; each tool gets its whole input', () => {
    const tr = new AnthropicStreamTranslator({ model: 'gpt-4.1', newId: () => 'msg_1' });
    const events = [
      chunk({ content: 'Checking both.' }),
      chunk(toolDelta(0, '{"city":', { id: 'call_a', name: 'get_weather' })),
      chunk(toolDelta(1, '{"city":"Rome"}', { id: 'call_b', name: 'get_weather' })),
      chunk(toolDelta(0, '"Paris"}')),
      chunk({}, 'tool_calls'),
    ].flatMap((c) => tr.push(c));
    events.push(...tr.finish());
    const blocks = accumulate(events);
    assert.deepEqual(
      blocks.map((b) => [b.type, b.id ?? null, b.type === 'tool_use' ? b.json : b.text]),
      [
        ['text', null, 'Checking both.'],
        ['tool_use', 'call_a', '{"city":"Paris"}'],
        ['tool_use', 'call_b', '{"city":"Rome"}'],
      ],
    );
    const stop = events.find((e) => e.event === 'message_delta');
    assert.deepEqual(z.object({ delta: z.object({ stop_reason: z.string() }).passthrough() }).passthrough().parse(stop?.data).delta.stop_reason, 'tool_use');
  });

  test('text after a tool call is held back until the tool block ends', () => {
    const tr = new AnthropicStreamTranslator({ model: 'gpt-4.1' });
    const events = [chunk(toolDelta(0, '{}', { id: 'call_a', name: 'x' })), chunk({ content: 'done' }), chunk(toolDelta(0, ''))].flatMap((c) => tr.push(c));
    events.push(...tr.finish());
    assert.deepEqual(accumulate(events).map((b) => b.type), ['tool_use', 'text']);
  });
});
