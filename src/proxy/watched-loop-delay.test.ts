import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createWatchedLoopDelay } from './watched-loop-delay.ts';

test('the delay monitor runs only while watched: a touch starts it, it stops after idleMs without one', async () => {
  const w = createWatchedLoopDelay({ idleMs: 100 });
  assert.equal(w.running, false, 'nothing runs until someone watches');
  const h = w.touch();
  assert.equal(w.running, true);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(w.touch(), h, 'a touch while running keeps the same histogram');
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(w.running, true, 'the second touch moved the deadline');
  await new Promise((r) => setTimeout(r, 120));
  assert.equal(w.running, false, 'stopped once no one watched for idleMs');
});
