import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeUsage, usageIn } from './meter.ts';
import { costOf } from './prices.ts';

test('chat: prompt, cached and completion tokens, and Copilot\'s charge beside usage', () => {
  const u = usageIn({
    choices: [],
    usage: { prompt_tokens: 120, completion_tokens: 9, prompt_tokens_details: { cached_tokens: 100 } },
    copilot_usage: { total_nano_aiu: 12_345_678, token_details: [] },
  });
  assert.deepEqual(u, { input: 120, output: 9, cached: 100, nanoAiu: 12_345_678 });
});

test('Responses: usage and copilot_usage under `response` in the terminal event, input_tokens_details.cached_tokens', () => {
  const u = usageIn({
    type: 'response.completed',
    response: { usage: { input_tokens: 50, output_tokens: 5, input_tokens_details: { cached_tokens: 20 } }, copilot_usage: { total_nano_aiu: 7 } },
  });
  assert.deepEqual(u, { input: 50, output: 5, cached: 20, nanoAiu: 7 });
});

test('Anthropic: input counts cache reads and writes in, message_start then message_delta merge (the native path keeps cache reads)', () => {
  const start = usageIn({ type: 'message_start', message: { usage: { input_tokens: 10, cache_read_input_tokens: 90, cache_creation_input_tokens: 5, output_tokens: 1 } } });
  assert.deepEqual(start, { input: 105, cached: 90, output: 1 });
  const delta = usageIn({ type: 'message_delta', usage: { output_tokens: 42 }, copilot_usage: { total_nano_aiu: 99 } });
  assert.deepEqual(mergeUsage(start, delta), { input: 105, cached: 90, output: 42, nanoAiu: 99 });
});

test('values that are not counts are dropped and named, never counted', () => {
  const u = usageIn({ usage: { prompt_tokens: '12', completion_tokens: -1 }, copilot_usage: { total_nano_aiu: 1e999 } });
  assert.equal(u.input, undefined);
  assert.equal(u.output, undefined);
  assert.equal(u.nanoAiu, undefined);
  assert.deepEqual(u.dropped, ['prompt_tokens="12"', 'completion_tokens=-1', 'copilot_usage.total_nano_aiu=Infinity']);
  assert.deepEqual(usageIn(null), {});
  assert.deepEqual(usageIn({ usage: { constructor: 1, __proto__: { prompt_tokens: 5 } } }), {});
});

test('cost: Copilot\'s own charge wins; else the price table; else unknown (null), never 0', () => {
  const prices = new Map([['m', { input: 300, cachedInput: 30, output: 1500 }]]);
  assert.deepEqual(costOf({ input: 10, output: 1, nanoAiu: 5 }, 'm', prices), { nanoAiu: 5, source: 'copilot' });
  // (10-4)*300 + 4*30 + 2*1500 credits per million tokens = 4920e-6 credits = 4_920_000 nano-AIU.
  assert.deepEqual(costOf({ input: 10, cached: 4, output: 2 }, 'm', prices), { nanoAiu: 4_920_000, source: 'estimated' });
  assert.deepEqual(costOf({ input: 10, output: 2 }, 'other', prices), { nanoAiu: null, source: null });
  assert.deepEqual(costOf({}, 'm', prices), { nanoAiu: null, source: null });
});
