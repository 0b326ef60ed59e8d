import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitOpenError, InvalidRequestError, UpstreamHttpError, UpstreamNetworkError, UpstreamTimeoutError } from '../errors.ts';
import { DEFAULT_RETRY_POLICY, retryDecision, sleep, withRetry } from './retry.ts';

const P = DEFAULT_RETRY_POLICY;

test('retryable: network errors, timeouts, 408, 429, 5xx; backoff 1 s then 4 s; 3 attempts in all (a silent upstream: 2)', () => {
  const t = new UpstreamTimeoutError('x');
  assert.deepEqual([1, 2].map((n) => retryDecision(t, n, P).retry), [true, false], 'a timeout costs a full wait: tried twice at most');
  for (const err of [new UpstreamNetworkError('x'), ...[408, 429, 500, 502, 503, 504].map((s) => new UpstreamHttpError(s, 'x'))]) {
    assert.deepEqual(
      [1, 2, 3].map((n) => {
        const d = retryDecision(err, n, P);
        return d.retry ? d.delayMs : null;
      }),
      [1000, 4000, null],
      err.message,
    );
  }
  const four = { ...P, maxAttempts: 4 };
  const d = retryDecision(new UpstreamNetworkError('x'), 3, four);
  assert.ok(d.retry && d.delayMs === 9000);
});

test('never retried: 400, 401, 402, 403, 404, 413, our own errors, unknown errors', () => {
  for (const s of [400, 401, 402, 403, 404, 413, 422]) assert.equal(retryDecision(new UpstreamHttpError(s, 'x'), 1, P).retry, false, String(s));
  assert.equal(retryDecision(new CircuitOpenError(3), 1, P).retry, false);
  assert.equal(retryDecision(new InvalidRequestError('x'), 1, P).retry, false);
  assert.equal(retryDecision(new Error('bug'), 1, P).retry, false);
});

test("Retry-After replaces the backoff; beyond the cap it is not waited for", () => {
  const d = retryDecision(new UpstreamHttpError(429, 'slow down', { retryAfterSec: 2 }), 1, P);
  assert.ok(d.retry);
  assert.equal(d.delayMs, 2000);
  assert.match(d.reason, /Retry-After 2 s/);
  assert.equal(retryDecision(new UpstreamHttpError(503, 'x', { retryAfterSec: 31 }), 1, P).retry, false);
  assert.equal(retryDecision(new UpstreamHttpError(503, 'x', { retryAfterSec: 30 }), 1, P).retry, true);
});

test('withRetry: reports each retry with its reason and uses the injected sleep', async () => {
  const waits: number[] = [];
  const reasons: string[] = [];
  let n = 0;
  const v = await withRetry(
    async () => {
      n += 1;
      if (n < 3) throw new UpstreamHttpError(502, 'bad gateway');
      return 'ok';
    },
    P,
    { sleep: async (ms) => void waits.push(ms), onRetry: (i) => reasons.push(i.reason) },
  );
  assert.equal(v, 'ok');
  assert.deepEqual(waits, [1000, 4000]);
  assert.deepEqual(reasons, ['HTTP 502: bad gateway', 'HTTP 502: bad gateway']);
});

test('an abort cuts the backoff short with the signal reason, and no attempt follows', async () => {
  const ac = new AbortController();
  let attempts = 0;
  const p = withRetry(
    async () => {
      attempts += 1;
      throw new UpstreamNetworkError('down');
    },
    { ...P, delaysMs: [60_000] },
    { signal: ac.signal, onRetry: () => setImmediate(() => ac.abort(new Error('client left'))) },
  );
  await assert.rejects(p, /client left/);
  assert.equal(attempts, 1);
  await assert.rejects(sleep(10, AbortSignal.abort(new Error('already'))), /already/);
});
