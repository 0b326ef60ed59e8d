import assert from 'node:assert/strict';
import { test } from 'node:test';
import { timeoutCheckMs } from './server.ts';

test('Node looks for requests past server_read every 5 s, or every server_read when shorter, never more than once a second', () => {
  assert.equal(timeoutCheckMs(30), 5000);
  assert.equal(timeoutCheckMs(2), 2000);
  assert.equal(timeoutCheckMs(0.2), 1000);
});
