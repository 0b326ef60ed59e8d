import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toOpenAIModelList } from './models.ts';

test('toOpenAIModelList keeps Copilot fields under extra keys and drops duplicate ids', () => {
  const list = toOpenAIModelList([
    {
      id: 'gpt-4.1',
      name: 'GPT-4.1',
      vendor: 'Azure OpenAI',
      version: 'gpt-4.1-2025-04-14',
      capabilities: { family: 'gpt-4.1', type: 'chat', limits: { max_context_window_tokens: 128000 } },
      billing: { is_premium: false, multiplier: 0 },
      policy: { state: 'enabled' },
      supported_endpoints: ['/chat/completions'],
    },
    { id: 'gpt-4.1', name: 'dup' },
    { id: 'bare' },
  ]);
  assert.equal(list.object, 'list');
  assert.equal(list.data.length, 2);
  const [first, bare] = list.data;
  assert.equal(first?.object, 'model');
  assert.equal(first?.owned_by, 'azure openai');
  assert.equal(first?.name, 'GPT-4.1');
  assert.equal(first?.capabilities?.limits?.max_context_window_tokens, 128000);
  assert.deepEqual(first?.billing, { is_premium: false, multiplier: 0 });
  assert.equal(bare?.owned_by, 'github-copilot');
  assert.equal('name' in (bare ?? {}), false);
});
