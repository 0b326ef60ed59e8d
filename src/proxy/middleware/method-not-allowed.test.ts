import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowedMethods } from './method-not-allowed.ts';

test('allowedMethods knows every route, with and without /v1', () => {
  assert.deepEqual(allowedMethods('/v1/chat/completions'), ['POST']);
  assert.deepEqual(allowedMethods('/chat/completions'), ['POST']);
  assert.deepEqual(allowedMethods('/v1/messages/count_tokens'), ['POST']);
  assert.deepEqual(allowedMethods('/v1/models/gpt-4.1'), ['GET', 'HEAD']);
  assert.deepEqual(allowedMethods('/health'), ['GET', 'HEAD']);
  assert.equal(allowedMethods('/v1/nope'), null);
  assert.equal(allowedMethods('/v1/chat/completionsX'), null);
});
