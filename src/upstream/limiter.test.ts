import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OverloadedError } from '../errors.ts';
import { createLimiter } from './limiter.ts';

test('slots, FIFO queue, 429 beyond the queue, release hands the slot on', async () => {
  const l = createLimiter({ maxConcurrent: 2, maxQueue: 2, retryAfterSec: 3 });
  const r1 = await l.acquire();
  const r2 = await l.acquire();
  const order: number[] = [];
  const q1 = l.acquire().then((r) => (order.push(1), r));
  const q2 = l.acquire().then((r) => (order.push(2), r));
  assert.equal(l.queued, 2);
  await assert.rejects(l.acquire(), (e: unknown) => e instanceof OverloadedError && e.retryAfterSec === 3 && e.status === 429);
  assert.equal(l.rejected, 1);
  r1();
  r1(); // a second release is a no-op
  const g1 = await q1;
  assert.equal(l.active, 2);
  r2();
  const g2 = await q2;
  assert.deepEqual(order, [1, 2]);
  g1();
  g2();
  assert.equal(l.active, 0);
  assert.equal(l.queued, 0);
});

test('a caller that aborts while queued leaves the queue at once', async () => {
  const l = createLimiter({ maxConcurrent: 1, maxQueue: 5 });
  const r = await l.acquire();
  const ac = new AbortController();
  const waiting = l.acquire(ac.signal);
  assert.equal(l.queued, 1);
  ac.abort(new Error('gone'));
  await assert.rejects(waiting, /gone/);
  assert.equal(l.queued, 0);
  r();
  assert.equal(l.active, 0);
  await assert.rejects(l.acquire(AbortSignal.abort(new Error('early'))), /early/);
});
