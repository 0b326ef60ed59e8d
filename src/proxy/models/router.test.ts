import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CopilotModel } from '../../upstream/copilot-client.ts';
import { withSupportedReasoningEffort, withThinkingBudget } from './router.ts';

const claude: CopilotModel = { id: 'claude-sonnet-4.5', capabilities: { supports: { min_thinking_budget: 1024, max_thinking_budget: 32000 } } };
const gpt5: CopilotModel = { id: 'gpt-5-mini', capabilities: { supports: { reasoning_effort: ['low', 'medium', 'high'] } } };
const gpt41: CopilotModel = { id: 'gpt-4.1', capabilities: { supports: { streaming: true } } };

describe('withThinkingBudget', () => {
  test('clamped into the model\'s min/max thinking budget', () => {
    const body = (n: number) => ({ model: 'x', thinking: { type: 'enabled', budget_tokens: n } });
    assert.deepEqual(withThinkingBudget(body(100_000), claude).body.thinking, { type: 'enabled', budget_tokens: 32000 });
    assert.deepEqual(withThinkingBudget(body(10), claude).changed, { from: 10, to: 1024 });
    assert.equal(withThinkingBudget(body(4096), claude).changed, undefined);
  });

  test('kept below max_tokens, as Anthropic requires (but not under the model\'s minimum)', () => {
    const body = (n: number, max: number) => ({ model: 'x', max_tokens: max, thinking: { type: 'enabled', budget_tokens: n } });
    assert.deepEqual(withThinkingBudget(body(8000, 4096), claude).changed, { from: 8000, to: 4095 });
    assert.deepEqual(withThinkingBudget(body(8000, 500), claude).changed, { from: 8000, to: 1024 });
  });

  test('left alone when the model lists no budget, or thinking is off', () => {
    assert.equal(withThinkingBudget({ thinking: { type: 'enabled', budget_tokens: 100_000 } }, gpt41).changed, undefined);
    assert.equal(withThinkingBudget({ thinking: { type: 'disabled' } }, claude).changed, undefined);
    assert.equal(withThinkingBudget({}, claude).changed, undefined);
  });
});

describe('withSupportedReasoningEffort', () => {
  test('kept where the model lists the value; dropped where it does not or lists none', () => {
    assert.deepEqual(withSupportedReasoningEffort({ model: 'm', reasoning_effort: 'high' }, gpt5), { body: { model: 'm', reasoning_effort: 'high' }, dropped: undefined });
    assert.deepEqual(withSupportedReasoningEffort({ model: 'm', reasoning_effort: 'minimal' }, gpt5), { body: { model: 'm' }, dropped: 'minimal' });
    assert.deepEqual(withSupportedReasoningEffort({ model: 'm', reasoning_effort: 'high' }, gpt41), { body: { model: 'm' }, dropped: 'high' });
    assert.deepEqual(withSupportedReasoningEffort({ model: 'm', reasoning_effort: 'high' }, undefined).dropped, undefined);
  });
});
