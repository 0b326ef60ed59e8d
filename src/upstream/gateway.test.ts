import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { CopilotAuth, CopilotTokenSource } from './token-source.ts';
import { AuthRequiredError, CircuitOpenError, OverloadedError, UpstreamHttpError, UpstreamNetworkError } from '../errors.ts';
import { silentLogger } from '../log.ts';
import { createGateway } from './gateway.ts';
import { upstreamError } from './copilot-client.ts';
import { UsageLimitError } from './usage-limit.ts';

function fakeTokens(opts: { getAuth?: () => Promise<CopilotAuth> } = {}): CopilotTokenSource & { refreshes: number } {
  let n = 0;
  const t = {
    refreshes: 0,
    getAuth: opts.getAuth ?? (async () => ({ token: `t${n}`, apiBase: 'http://x' })),
    async handleUnauthorized() {
      t.refreshes += 1;
      n += 1;
      return { token: `t${n}`, apiBase: 'http://x' };
    },
  };
  return t;
}

const config = { max_concurrency: 1, max_queue: 0, timeouts: { circuit_breaker: 30 } };
const fast = { retryDelaysMs: [0] };

test('a value with a stream body holds its slot until the body closes; others release at once', async () => {
  const gw = createGateway({ tokens: fakeTokens(), log: silentLogger, config, resilience: fast });
  const body = new Readable({ read() {} });
  const res = await gw.call('chat', undefined, async () => ({ status: 200, body }));
  assert.equal(gw.state().inFlight, 1);
  await assert.rejects(gw.call('chat', undefined, async () => 'x'), OverloadedError);
  assert.equal(gw.state().overloadRejections, 1);
  // Look-ups skip the limit.
  assert.equal(await gw.call('models', undefined, async () => 'models'), 'models');
  res.body.destroy();
  await new Promise((r) => setImmediate(r));
  assert.equal(gw.state().inFlight, 0);
  assert.equal(await gw.call('chat', undefined, async () => 'again'), 'again');
  assert.equal(gw.state().inFlight, 0);
  gw.close?.();
});

test('retries count in state(); 401 refreshes once; token-manager failures are neither retried nor counted', async () => {
  const tokens = fakeTokens();
  const gw = createGateway({ tokens, log: silentLogger, resilience: fast });
  let calls = 0;
  const v = await gw.call('chat', undefined, async (auth) => {
    calls += 1;
    if (calls === 1) throw new UpstreamNetworkError('reset');
    if (auth.token === 't0') throw new UpstreamHttpError(401, 'unauthorized: token expired');
    return auth.token;
  });
  assert.equal(v, 't1');
  assert.equal(calls, 3);
  assert.equal(tokens.refreshes, 1);
  assert.equal(gw.state().retries, 1);

  let authCalls = 0;
  const broken = createGateway({
    tokens: fakeTokens({ getAuth: async () => (authCalls++, Promise.reject(new AuthRequiredError())) }),
    log: silentLogger,
    resilience: { ...fast, breakerThreshold: 1 },
  });
  await assert.rejects(broken.call('chat', undefined, async () => 'never'), AuthRequiredError);
  assert.equal(authCalls, 1);
  assert.equal(broken.state().circuit, 'closed');
  gw.close?.();
  broken.close?.();
});

test('open circuit: CircuitOpenError before queueing, counted in state()', async () => {
  const gw = createGateway({ tokens: fakeTokens(), log: silentLogger, resilience: { ...fast, maxAttempts: 1, breakerThreshold: 2 } });
  for (let i = 0; i < 2; i++) await assert.rejects(gw.call('chat', undefined, () => Promise.reject(new UpstreamHttpError(502, 'x'))));
  await assert.rejects(gw.call('chat', undefined, async () => 'x'), (e: unknown) => e instanceof CircuitOpenError && e.status === 503);
  const s = gw.state();
  assert.equal(s.circuit, 'open');
  assert.equal(s.circuitRejections, 1);
  assert.equal(s.failures, 2);
  assert.equal(s.inFlight, 0);
  gw.close?.();
});

test('a weekly limit is state: not retried, later model calls are answered 429 without going upstream, look-ups still go, and it ends on time', async () => {
  let now = Date.UTC(2026, 11, 2, 12);
  const gw = createGateway({ tokens: fakeTokens(), log: silentLogger, resilience: fast, now: () => now });
  const changes: Array<string | null> = [];
  gw.onLimitChange?.((l) => changes.push(l ? l.kind : null));
  let upstream = 0;
  const limited = async () => {
    upstream += 1;
    throw upstreamError(429, JSON.stringify({ error: { message: 'Please wait 30 minutes', code: 'user_weekly_rate_limited' } }), {}, now);
  };
  await assert.rejects(gw.call('chat', undefined, limited), (e: unknown) => e instanceof UsageLimitError && e.retryAfterSec === 1800);
  assert.equal(upstream, 1, 'not retried');
  assert.equal(gw.state().retries, 0);
  now += 60_000;
  await assert.rejects(gw.call('messages', undefined, limited), (e: unknown) => e instanceof UsageLimitError && e.retryAfterSec === 1740);
  assert.equal(upstream, 1, 'answered locally');
  assert.equal(gw.state().limitRejections, 1);
  assert.equal(gw.state().limit?.kind, 'weekly');
  assert.equal(gw.state().circuit, 'closed', 'a limit is not an outage');
  assert.equal(await gw.call('models', undefined, async () => 'models'), 'models');
  now += 30 * 60_000;
  assert.equal(await gw.call('chat', undefined, async () => 'again'), 'again');
  assert.equal(gw.state().limit, null);
  assert.deepEqual(changes, ['weekly', null]);
  gw.close?.();
});
