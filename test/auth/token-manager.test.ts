import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { createTokenManager } from '../../src/auth/token-manager.ts';
import { createTokenStore } from '../../src/auth/token-store.ts';
import { AuthRequiredError } from '../../src/errors.ts';
import { silentLogger } from '../../src/log.ts';
import { copilotHeaders } from '../../src/upstream/copilot-client.ts';
import type { CopilotAuth } from '../../src/auth/types.ts';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/index.ts';
import { fakeTime, tempHome, testConfig } from './helpers.ts';

// The token manager against the fake GitHub/Copilot over real HTTP.

let fake: FakeUpstream;
const dispatcher = new Agent();
const homes: Array<() => void> = [];
before(async () => {
  fake = await startFakeUpstream();
});
after(async () => {
  await fake.close();
  await dispatcher.close();
  for (const c of homes) c();
});
afterEach(() => {
  fake.clear();
  fake.clearInjections();
});

async function setup(app: 'vscode' | 'opencode' = 'vscode') {
  const h = tempHome();
  homes.push(h.cleanup);
  const config = testConfig(h.dir, fake.url, { GITHUB_COPILOT_SVCS_OAUTH_APP: app });
  const store = await createTokenStore({ config, log: silentLogger });
  const gh = fake.createGithubToken({ app });
  await store.save({ github_token: gh, oauth_app: app });
  const time = fakeTime(fake.clock.now());
  const tm = createTokenManager({ config, store, dispatcher, log: silentLogger, env: {}, now: time.now, sleep: time.sleep, timers: time.timers });
  return { tm, store, gh, time, config };
}

async function callModels(auth: CopilotAuth): Promise<number> {
  const res = await request(`${auth.apiBase}/models`, { headers: copilotHeaders({ auth }), dispatcher });
  await res.body.text();
  return res.statusCode;
}

describe('token manager against the fake upstream', () => {
  test('exchanges once, saves, and the Copilot API accepts the token', async () => {
    const { tm, store } = await setup();
    await tm.start();
    const auth = await tm.getAuth();
    assert.equal(fake.counts.exchange, 1);
    assert.equal(auth.apiBase, fake.url, 'endpoints.api from the token');
    assert.equal(await callModels(auth), 200);
    assert.equal((await store.load())?.copilot_token, auth.token);
    tm.stop();
  });

  test('single flight: 100 concurrent getAuth at expiry → exactly one exchange', async () => {
    const { tm } = await setup();
    const auths = await Promise.all(Array.from({ length: 100 }, () => tm.getAuth()));
    assert.equal(fake.counts.exchange, 1);
    assert.equal(new Set(auths.map((a) => a.token)).size, 1);
    tm.stop();
  });

  test('401 from Copilot → one refresh → the retry succeeds', async () => {
    const { tm, time } = await setup();
    const first = await tm.getAuth();
    // The token expires upstream (the fake's clock) while we still believe it valid.
    fake.advanceClock(1801_000);
    assert.equal(await callModels(first), 401);
    const results = await Promise.all(Array.from({ length: 20 }, () => tm.handleUnauthorized(first)));
    assert.equal(fake.counts.exchange, 2);
    const second = results[0];
    assert.ok(second && second.token !== first.token);
    assert.equal(await callModels(second), 200);
    void time;
    tm.stop();
  });

  test('exchange failures are retried after 2, 8 and 18 s', async () => {
    const { tm, time } = await setup();
    fake.failNext(3, { status: 503, body: 'unavailable', path: '/copilot_internal/v2/token' });
    const auth = await tm.getAuth();
    assert.match(auth.token, /^tid=/);
    assert.equal(fake.counts.exchange, 4);
    assert.deepEqual(time.sleeps, [2000, 8000, 18000]);
    tm.stop();
  });

  test('a revoked GitHub token: needs_auth, no retry storm', async () => {
    const { tm, gh, time } = await setup();
    fake.revokeGithubToken(gh);
    await tm.start();
    await time.advance(0);
    await assert.rejects(tm.getAuth(), AuthRequiredError);
    await assert.rejects(tm.getAuth(), AuthRequiredError);
    await time.advance(3600_000);
    assert.equal(fake.counts.exchange, 1);
    assert.equal(tm.snapshot().state, 'needs_auth');
    assert.equal(tm.snapshot().health, 'needs_refresh');
    tm.stop();
  });

  test('refresh() picks up a new sign-in saved by another process', async () => {
    const { tm, gh, store } = await setup();
    fake.revokeGithubToken(gh);
    await tm.refresh();
    assert.equal(tm.snapshot().state, 'needs_auth');
    const fresh = fake.createGithubToken();
    await store.save({ github_token: fresh, oauth_app: 'vscode' });
    const s = await tm.refresh();
    assert.equal(s.state, 'ok');
    assert.equal(s.health, 'healthy');
    assert.equal(await callModels(await tm.getAuth()), 200);
    tm.stop();
  });

  test('opencode: no exchange, the GitHub token is the Bearer', async () => {
    const { tm, gh } = await setup('opencode');
    await tm.start();
    const auth = await tm.getAuth();
    assert.equal(auth.token, gh);
    assert.equal(await callModels({ ...auth, apiBase: fake.url }), 200);
    assert.equal(fake.counts.exchange, 0);
    tm.stop();
  });
});
