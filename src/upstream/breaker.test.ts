import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CircuitOpenError, InvalidRequestError, UpstreamHttpError, UpstreamTimeoutError } from '../errors.ts';
import { silentLogger } from '../log.ts';
import { countsAsFailure, createBreaker } from './breaker.ts';

const fail = (err: unknown) => () => Promise.reject(err);
const ok = () => Promise.resolve('ok');

async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) assert.fail('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('what counts: upstream trouble and timeouts do; client errors and aborts do not', () => {
  assert.ok(countsAsFailure(new UpstreamTimeoutError('t')));
  assert.ok(countsAsFailure(new UpstreamHttpError(503, 'x')));
  assert.ok(countsAsFailure(new UpstreamHttpError(429, 'x')));
  assert.ok(countsAsFailure(new UpstreamHttpError(408, 'x')));
  assert.ok(!countsAsFailure(new UpstreamHttpError(400, 'x')));
  assert.ok(!countsAsFailure(new UpstreamHttpError(401, 'x')));
  assert.ok(!countsAsFailure(new InvalidRequestError('x')));
  assert.ok(!countsAsFailure(new DOMException('aborted', 'AbortError')));
});

test('opens after exactly 5 consecutive failures (not a percentage), one probe in half-open, closes on success', async () => {
  const b = createBreaker({ threshold: 5, resetMs: 50, log: silentLogger });
  try {
    // 4 failures, a success, 4 failures: a rolling percentage would have opened; consecutive does not.
    for (let i = 0; i < 4; i++) await assert.rejects(b.run(fail(new UpstreamTimeoutError('t'))));
    assert.equal(await b.run(ok), 'ok');
    for (let i = 0; i < 4; i++) await assert.rejects(b.run(fail(new UpstreamHttpError(502, 'x'))));
    // Client errors neither count nor reset the run.
    await assert.rejects(b.run(fail(new UpstreamHttpError(400, 'x'))));
    assert.equal(b.state().consecutiveFailures, 4);
    assert.equal(b.state().circuit, 'closed');
    await assert.rejects(b.run(fail(new UpstreamHttpError(502, 'x'))));
    assert.equal(b.state().circuit, 'open');
    await assert.rejects(b.run(ok), (e: unknown) => e instanceof CircuitOpenError && e.retryAfterSec === 1);
    assert.throws(() => b.assertCallable(), CircuitOpenError);
    assert.equal(b.state().rejections, 2);

    await until(() => b.state().circuit === 'half_open');
    b.assertCallable();
    let release: () => void = () => undefined;
    const probe = b.run(() => new Promise<string>((r) => (release = () => r('probe ok'))));
    // Only one probe: the others are turned away while it runs.
    await assert.rejects(b.run(ok), CircuitOpenError);
    release();
    assert.equal(await probe, 'probe ok');
    assert.equal(b.state().circuit, 'closed');
    assert.equal(b.state().opens, 1);
  } finally {
    b.shutdown();
    b.shutdown();
  }
});

test('a failed probe reopens the circuit', async () => {
  const b = createBreaker({ threshold: 2, resetMs: 30, log: silentLogger });
  try {
    await assert.rejects(b.run(fail(new UpstreamHttpError(500, 'x'))));
    await assert.rejects(b.run(fail(new UpstreamHttpError(500, 'x'))));
    await until(() => b.state().circuit === 'half_open');
    await assert.rejects(b.run(fail(new UpstreamHttpError(500, 'x'))), UpstreamHttpError);
    assert.equal(b.state().circuit, 'open');
    assert.equal(b.state().opens, 2);
  } finally {
    b.shutdown();
  }
});
