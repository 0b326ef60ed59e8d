import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prepareChat } from './chat.ts';

test('prepareChat keeps reasoning_text and reasoning_opaque on an assistant message the client sends back', () => {
  const assistant = { role: 'assistant', content: 'Sunny.', reasoning_text: 'Think.', reasoning_opaque: 'sig-1', reasoning_content: 'Think.' };
  const p = prepareChat({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'weather?' }, assistant, { role: 'user', content: 'thanks' }] });
  const messages = p.upstreamBody.messages;
  assert.ok(Array.isArray(messages));
  assert.deepEqual(messages[1], assistant);
});
