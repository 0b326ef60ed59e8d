import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OverloadedError } from '../../errors.ts';
import { createBodyBudget, declaredBodyBytes } from './body-budget.ts';

const MiB = 1024 * 1024;
const never = () => new AbortController().signal;

test('bodies within the budget go at once; past it they wait in order, and each release lets the next in', async () => {
  const b = createBodyBudget({ maxBytes: 10 * MiB, maxQueue: 10 });
  const r1 = await b.reserve(6 * MiB, never());
  const r2 = await b.reserve(4 * MiB, never());
  assert.equal(b.inFlightBytes, 10 * MiB);
  const order: string[] = [];
  const p3 = b.reserve(5 * MiB, never()).then((r) => (order.push('3'), r));
  const p4 = b.reserve(1, never()).then((r) => (order.push('4'), r));
  assert.equal(b.queued, 2);
  r2.release();
  r2.release(); // a second release counts once
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [], 'the head (5 MiB) does not fit in 4 MiB, and the small one behind it does not jump the queue');
  r1.release();
  const [r3, r4] = await Promise.all([p3, p4]);
  assert.deepEqual(order, ['3', '4']);
  assert.equal(b.inFlightBytes, 5 * MiB + 1);
  r3.release();
  r4.release();
  assert.equal(b.inFlightBytes, 0);
});

test('a full queue answers 429 (OverloadedError with Retry-After); a caller that leaves drops out of the queue', async () => {
  const b = createBodyBudget({ maxBytes: MiB, maxQueue: 1, retryAfterSec: 2 });
  const r1 = await b.reserve(MiB, never());
  const ac = new AbortController();
  const waiting = b.reserve(10, ac.signal);
  await assert.rejects(b.reserve(10, never()), (e: unknown) => e instanceof OverloadedError && e.retryAfterSec === 2);
  ac.abort(new Error('gone'));
  await assert.rejects(waiting, /gone/);
  assert.equal(b.queued, 0);
  r1.release();
  assert.equal(b.inFlightBytes, 0);
});

test('a reservation shrunk to what the body really took lets the next waiter in; release gives back the rest, once', async () => {
  const b = createBodyBudget({ maxBytes: 10 * MiB, maxQueue: 10 });
  const worst = await b.reserve(5 * MiB, never());
  const other = await b.reserve(5 * MiB, never());
  let granted = false;
  const waiting = b.reserve(4 * MiB, never()).then((r) => ((granted = true), r));
  await new Promise((r) => setImmediate(r));
  assert.equal(granted, false, 'the budget is full');
  worst.shrinkTo(100);
  const next = await waiting;
  assert.equal(b.inFlightBytes, 100 + 5 * MiB + 4 * MiB);
  worst.shrinkTo(5 * MiB); // never grows
  assert.equal(b.inFlightBytes, 100 + 9 * MiB);
  worst.release();
  worst.release();
  assert.equal(b.inFlightBytes, 9 * MiB);
  other.release();
  next.release();
  assert.equal(b.inFlightBytes, 0);
});

test('a body larger than the whole budget goes alone rather than never', async () => {
  const b = createBodyBudget({ maxBytes: MiB, maxQueue: 1 });
  const r = await b.reserve(50 * MiB, never());
  assert.equal(b.inFlightBytes, MiB);
  r.release();
});

test('what a request reserves: its Content-Length (capped), the maximum when chunked, nothing without a body', () => {
  assert.equal(declaredBodyBytes({ 'content-length': '1234' }, 5 * MiB), 1234);
  assert.equal(declaredBodyBytes({ 'content-length': String(9 * MiB) }, 5 * MiB), 5 * MiB);
  assert.equal(declaredBodyBytes({ 'transfer-encoding': 'chunked' }, 5 * MiB), 5 * MiB);
  assert.equal(declaredBodyBytes({}, 5 * MiB), 0);
  assert.equal(declaredBodyBytes({ 'content-length': '0' }, 5 * MiB), 0);
  // Compressed, a small body may inflate to the largest allowed: that is what it reserves (#20).
  assert.equal(declaredBodyBytes({ 'content-length': '100', 'content-encoding': 'br' }, 5 * MiB), 5 * MiB);
  assert.equal(declaredBodyBytes({ 'content-length': '100', 'content-encoding': ' GZIP ' }, 5 * MiB), 5 * MiB);
  assert.equal(declaredBodyBytes({ 'content-length': '100', 'content-encoding': 'identity' }, 5 * MiB), 100);
  assert.equal(declaredBodyBytes({ 'content-length': '0', 'content-encoding': 'gzip' }, 5 * MiB), 0);
});
