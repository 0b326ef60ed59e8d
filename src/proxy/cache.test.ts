import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCachedFetcher } from './cache.ts';

test('concurrent gets share one fetch; the value is cached until the TTL passes', async () => {
  let calls = 0;
  let t = 0;
  const f = createCachedFetcher(async () => ++calls, 1000, () => t);
  const results = await Promise.all(Array.from({ length: 20 }, () => f.get()));
  assert.deepEqual(new Set(results), new Set([1]));
  assert.equal(calls, 1);
  t = 999;
  assert.equal(await f.get(), 1);
  t = 1000;
  assert.equal(await f.get(), 2);
});

test('a failed fetch is not cached', async () => {
  let calls = 0;
  const f = createCachedFetcher(async () => {
    calls += 1;
    if (calls === 1) throw new Error('boom');
    return 'ok';
  }, 60_000);
  await assert.rejects(f.get(), /boom/);
  assert.equal(await f.get(), 'ok');
  assert.equal(calls, 2);
});

test('invalidate drops the value and ignores a fetch already in flight', async () => {
  let calls = 0;
  let release: (v: number) => void = () => {};
  const f = createCachedFetcher(() => {
    calls += 1;
    if (calls === 1) return new Promise<number>((r) => (release = r));
    return Promise.resolve(calls);
  }, 60_000);
  const first = f.get();
  f.invalidate();
  release(1);
  assert.equal(await first, 1);
  assert.equal(await f.get(), 2);
});
