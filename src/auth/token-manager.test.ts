import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { fakeTime, memoryStore, tempHome, testConfig } from '../../test/auth/helpers.ts';
import { AuthRequiredError, DeviceFlowError, GithubAuthRejectedError, UpstreamHttpError, UpstreamNetworkError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { CopilotTokenResponse } from '../upstream/github-client.ts';
import { computeHealth, refreshAtSec, refreshThresholdSec } from './refresh-policy.ts';
import { createTokenManager, type TokenManagerDeps } from './token-manager.ts';
import type { StoredTokens } from './token-store.ts';

const home = tempHome();
after(home.cleanup);
const config = testConfig(home.dir);
const dispatcher = {} as TokenManagerDeps['dispatcher']; // never used: the exchange is injected

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (...a: unknown[]) => lines.push(`${level}: ${a.map(String).join(' ')}`);
  return { lines, error: rec('error'), warn: rec('warn'), info: rec('info'), debug: rec('debug'), addSecret() {}, knownSecrets: () => [] };
}

function setup(opts: { stored?: StoredTokens | null; exchange?: TokenManagerDeps['exchange']; extra?: Partial<TokenManagerDeps> } = {}) {
  const time = fakeTime();
  const store = memoryStore(opts.stored === undefined ? { github_token: 'gho_stored_token_1', oauth_app: 'vscode' } : opts.stored);
  const log = recordingLog();
  let n = 0;
  const calls: string[] = [];
  const exchange =
    opts.exchange ??
    (async (_deps, gh: string): Promise<CopilotTokenResponse> => {
      calls.push(gh);
      n += 1;
      const nowS = Math.floor(time.now() / 1000);
      return { token: `tid=copilot-${n}`, expires_at: nowS + 1800, refresh_in: 1500, endpoints: { api: 'https://api.individual.githubcopilot.com' } };
    });
  const tm = createTokenManager({ config, store, dispatcher, log, env: {}, now: time.now, sleep: time.sleep, timers: time.timers, exchange, ...opts.extra });
  return { tm, time, store, log, calls };
}

describe('refresh schedule', () => {
  test('threshold is max(20 % of lifetime, 5 min)', () => {
    assert.equal(refreshThresholdSec(1800), 360);
    assert.equal(refreshThresholdSec(600), 300);
    assert.equal(refreshThresholdSec(7200), 1440);
  });

  test('refresh at the earlier of refresh_in and the threshold, never before half the lifetime', () => {
    assert.equal(refreshAtSec({ expiresAt: 1800, obtainedAt: 0, refreshIn: 1500 }), 1440);
    assert.equal(refreshAtSec({ expiresAt: 1800, obtainedAt: 0, refreshIn: 1000 }), 1000);
    assert.equal(refreshAtSec({ expiresAt: 120, obtainedAt: 0, refreshIn: null }), 60);
  });

  test('health: healthy above the threshold, soon below it, needs refresh when expired', () => {
    const base = { hasGithubToken: true, needsAuth: false, oauthApp: 'vscode' as const, obtainedAt: 0, expiresAt: 1800 };
    assert.equal(computeHealth({ ...base, nowSec: 7 }), 'healthy');
    assert.equal(computeHealth({ ...base, nowSec: 1500 }), 'refresh_soon');
    assert.equal(computeHealth({ ...base, nowSec: 1800 }), 'needs_refresh');
    assert.equal(computeHealth({ ...base, hasGithubToken: false, nowSec: 0 }), 'not_signed_in');
    assert.equal(computeHealth({ ...base, needsAuth: true, nowSec: 0 }), 'needs_refresh');
    assert.equal(computeHealth({ ...base, oauthApp: 'opencode', expiresAt: null, nowSec: 0 }), 'healthy');
  });

  test('the timer refreshes before expiry, driven by the clock', async () => {
    const { tm, time, calls } = setup();
    await tm.start();
    await time.advance(0);
    assert.equal(calls.length, 1, 'no Copilot token stored: exchange at start');
    const t0 = time.now();
    assert.equal(tm.snapshot().health, 'healthy');
    assert.equal(time.nextTimerAt(), t0 + 1440_000);
    await time.advance(1439_000);
    assert.equal(calls.length, 1);
    assert.equal(tm.snapshot().health, 'healthy');
    await time.advance(1_000);
    assert.equal(calls.length, 2, 'refreshed at 1440 s, with 360 s left');
    assert.equal((await tm.getAuth()).token, 'tid=copilot-2');
    assert.equal(tm.snapshot().health, 'healthy');
    tm.stop();
    assert.equal(time.pendingTimers(), 0);
    tm.stop(); // idempotent
  });

  test('a still-valid stored token is used without an exchange, and refreshed on schedule', async () => {
    const time0 = fakeTime();
    const nowS = Math.floor(time0.now() / 1000);
    const stored: StoredTokens = { github_token: 'gho_x_123456', oauth_app: 'vscode', copilot_token: 'tid=stored', expires_at: nowS + 600, refresh_in: 1500, obtained_at: nowS - 1200 };
    const { tm, time, calls, store } = setup({ stored });
    await tm.start();
    assert.equal((await tm.getAuth()).token, 'tid=stored');
    assert.equal(calls.length, 0);
    assert.equal(tm.snapshot().health, 'healthy');
    await time.advance(240_000); // 360 s left: threshold reached
    assert.equal(calls.length, 1);
    assert.equal(store.current?.copilot_token, 'tid=copilot-1', 'the new token is saved');
    tm.stop();
  });
});

describe('retries', () => {
  test('a failed refresh is retried after 2 s, 8 s and 18 s', async () => {
    let attempts = 0;
    const { tm, time } = setup({
      exchange: async () => {
        attempts += 1;
        if (attempts <= 3) throw new UpstreamNetworkError('connection reset');
        return { token: 'tid=after-retries', expires_at: Math.floor(time.now() / 1000) + 1800, refresh_in: 1500 };
      },
    });
    const auth = await tm.getAuth();
    assert.equal(auth.token, 'tid=after-retries');
    assert.equal(attempts, 4);
    assert.deepEqual(time.sleeps, [2000, 8000, 18000]);
    assert.equal(tm.snapshot().state, 'ok');
    tm.stop();
  });

  test('after three failed retries the state is error, the error reaches the caller, and a later attempt is scheduled', async () => {
    let attempts = 0;
    const { tm, time } = setup({
      exchange: async () => {
        attempts += 1;
        throw new UpstreamHttpError(502, 'bad gateway');
      },
    });
    await assert.rejects(tm.getAuth(), UpstreamHttpError);
    assert.equal(attempts, 4);
    const s = tm.snapshot();
    assert.equal(s.state, 'error');
    assert.equal(s.health, 'needs_refresh');
    assert.match(s.lastError ?? '', /bad gateway/);
    assert.equal(time.nextTimerAt(), time.now() + 60_000);
    tm.stop();
  });

  test('after a cycle failed for good, the next one is tried once: a request gets its error at once, and the token once the network is back', async () => {
    let attempts = 0;
    let online = false;
    const { tm, time } = setup({
      exchange: async () => {
        attempts += 1;
        if (!online) throw new UpstreamNetworkError('getaddrinfo ENOTFOUND api.github.com');
        return { token: 'tid=back', expires_at: Math.floor(time.now() / 1000) + 1800, refresh_in: 1500 };
      },
    });
    await assert.rejects(tm.getAuth(), /ENOTFOUND/);
    assert.equal(attempts, 4);
    assert.deepEqual(time.sleeps, [2000, 8000, 18000]);
    await assert.rejects(tm.getAuth(), /ENOTFOUND/);
    assert.equal(attempts, 5, 'one attempt, no waits');
    assert.deepEqual(time.sleeps, [2000, 8000, 18000]);
    assert.equal(tm.snapshot().state, 'error');
    await time.advance(60_000); // the scheduled try: once, too
    assert.equal(attempts, 6);
    assert.deepEqual(time.sleeps, [2000, 8000, 18000]);
    online = true;
    assert.equal((await tm.getAuth()).token, 'tid=back');
    assert.equal(tm.snapshot().state, 'ok');
    tm.stop();
  });

  test('oneShot (a CLI command): tried once, the failure kept for the command (lastFailure) and neither logged nor tried again later', async () => {
    let attempts = 0;
    const { tm, time, log } = setup({
      exchange: async () => {
        attempts += 1;
        throw new UpstreamNetworkError('connect ETIMEDOUT');
      },
      extra: { oneShot: true },
    });
    assert.equal(tm.lastFailure(), null);
    const s = await tm.refresh();
    assert.equal(attempts, 1);
    assert.deepEqual(time.sleeps, []);
    assert.equal(s.state, 'error');
    assert.ok(tm.lastFailure() instanceof UpstreamNetworkError);
    assert.equal(time.nextTimerAt(), null, 'no retry scheduled');
    assert.ok(!log.lines.some((l) => /trying again/.test(l)), log.lines.join('\n'));
    tm.stop();
  });

  test('a non-retryable failure is not retried', async () => {
    let attempts = 0;
    const { tm, time } = setup({
      exchange: async () => {
        attempts += 1;
        throw new UpstreamHttpError(400, 'bad request');
      },
    });
    await assert.rejects(tm.getAuth(), /bad request/);
    assert.equal(attempts, 1);
    assert.deepEqual(time.sleeps, []);
    tm.stop();
  });

  test('a timer refresh that throws is caught and logged, never unhandled', async () => {
    let attempts = 0;
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { tm, time, log } = setup({
        exchange: async () => {
          attempts += 1;
          if (attempts === 1) return { token: 'tid=first', expires_at: Math.floor(time.now() / 1000) + 1800, refresh_in: 1500 };
          throw new TypeError('boom in the timer');
        },
      });
      await tm.getAuth();
      await time.advance(1440_000);
      await time.advance(0);
      assert.equal(attempts, 2);
      assert.equal(tm.snapshot().state, 'error');
      assert.ok(log.lines.some((l) => /boom in the timer/.test(l)));
      assert.equal((await tm.getAuth()).token, 'tid=first', 'the old token is still valid and still served');
      tm.stop();
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('single flight', () => {
  test('100 concurrent getAuth at expiry cause exactly one exchange', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let attempts = 0;
    const { tm, time } = setup({
      exchange: async () => {
        attempts += 1;
        await gate;
        return { token: 'tid=one', expires_at: Math.floor(time.now() / 1000) + 1800, refresh_in: 1500 };
      },
    });
    const all = Promise.all(Array.from({ length: 100 }, () => tm.getAuth()));
    await time.flush();
    release();
    const auths = await all;
    assert.equal(attempts, 1);
    assert.ok(auths.every((a) => a.token === 'tid=one'));
    tm.stop();
  });

  test('401: handleUnauthorized refreshes once for many callers; a late caller with the old token gets the new one', async () => {
    const { tm, calls } = setup();
    const first = await tm.getAuth();
    assert.equal(calls.length, 1);
    const results = await Promise.all(Array.from({ length: 10 }, () => tm.handleUnauthorized(first)));
    assert.equal(calls.length, 2);
    assert.ok(results.every((a) => a.token === 'tid=copilot-2'));
    const late = await tm.handleUnauthorized(first);
    assert.equal(late.token, 'tid=copilot-2');
    assert.equal(calls.length, 2);
    tm.stop();
  });

  test('an aborted getAuth rejects without cancelling the shared refresh', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { tm, time } = setup({
      exchange: async () => {
        await gate;
        return { token: 'tid=shared', expires_at: Math.floor(time.now() / 1000) + 1800, refresh_in: 1500 };
      },
    });
    const ac = new AbortController();
    const a = tm.getAuth(ac.signal);
    const b = tm.getAuth();
    ac.abort();
    await assert.rejects(a);
    release();
    assert.equal((await b).token, 'tid=shared');
    tm.stop();
  });
});

describe('needs_auth', () => {
  test('GitHub rejecting the token: needs_auth, no retries, requests get AuthRequiredError saying how to sign in', async () => {
    let attempts = 0;
    const { tm, time, log } = setup({
      exchange: async () => {
        attempts += 1;
        throw new GithubAuthRejectedError(401, 'GitHub rejected the GitHub token at the Copilot token exchange (401: Bad credentials)');
      },
    });
    await tm.start();
    await time.advance(0);
    assert.equal(tm.snapshot().state, 'needs_auth');
    assert.equal(tm.snapshot().health, 'needs_refresh');
    await assert.rejects(tm.getAuth(), (e: unknown) => e instanceof AuthRequiredError && /github-copilot-svcs auth/.test(e.message));
    await assert.rejects(tm.getGithubToken(), AuthRequiredError);
    await time.advance(3600_000);
    assert.equal(attempts, 1, 'no retry storm');
    assert.deepEqual(time.sleeps, []);
    assert.equal(log.lines.filter((l) => l.startsWith('error:')).length, 1, 'logged once');
    tm.stop();
  });

  test('autoSignIn: logs the URL and code once per code, re-issues an expired code, adopts the new token', async () => {
    let flows = 0;
    const { tm, time, log, store, calls } = setup({
      stored: null,
      extra: {
        autoSignIn: true,
        deviceFlow: async (o) => {
          flows += 1;
          o.onCode({ verificationUri: 'https://github.com/login/device', userCode: `CODE-000${flows}`, expiresAt: o.now!() + 900_000 });
          if (flows === 1) throw new DeviceFlowError('expired_token', 'expired');
          return { accessToken: 'gho_new_signed_in', scope: 'read:user' };
        },
      },
    });
    const changes: string[] = [];
    tm.onChange((s) => changes.push(s.pendingSignIn?.userCode ?? '-'));
    await tm.start();
    await assert.rejects(tm.getAuth(), /CODE-000|auth/);
    for (let i = 0; i < 10; i++) await time.flush();
    assert.equal(flows, 2);
    const codeLines = log.lines.filter((l) => /enter the code/.test(l));
    assert.equal(codeLines.length, 2);
    assert.match(codeLines[0] ?? '', /CODE-0001/);
    assert.match(codeLines[1] ?? '', /CODE-0002/);
    assert.ok(changes.includes('CODE-0001'));
    assert.equal(store.current?.github_token, 'gho_new_signed_in');
    assert.deepEqual(calls, ['gho_new_signed_in']);
    assert.equal((await tm.getAuth()).token, 'tid=copilot-1');
    assert.equal(tm.snapshot().pendingSignIn, null);
    tm.stop();
  });

  test('while signing in, AuthRequiredError names the URL and the code', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { tm, time } = setup({
      stored: null,
      extra: {
        autoSignIn: true,
        deviceFlow: async (o) => {
          o.onCode({ verificationUri: 'https://github.com/login/device', userCode: 'WXYZ-9876', expiresAt: o.now!() + 900_000 });
          await gate;
          throw new DeviceFlowError('aborted', 'Sign-in cancelled.');
        },
      },
    });
    await tm.start();
    await time.flush();
    await assert.rejects(tm.getAuth(), /https:\/\/github\.com\/login\/device.*WXYZ-9876/);
    assert.equal(tm.snapshot().pendingSignIn?.userCode, 'WXYZ-9876');
    release();
    tm.stop();
  });
});

describe('apps, env and api base', () => {
  test('opencode: no exchange, the GitHub token is the Bearer, no expiry', async () => {
    const { tm, calls } = setup({ stored: { github_token: 'gho_opencode_tok', oauth_app: 'opencode' } });
    await tm.start();
    const auth = await tm.getAuth();
    assert.equal(auth.token, 'gho_opencode_tok');
    assert.equal(auth.apiBase, 'https://api.githubcopilot.com');
    assert.equal(calls.length, 0);
    const s = tm.snapshot();
    assert.equal(s.oauthApp, 'opencode');
    assert.equal(s.expiresAt, null);
    assert.equal(s.health, 'healthy');
    tm.stop();
  });

  test('api base: config override, else the token endpoints.api, else the public default', async () => {
    const a = setup();
    assert.equal((await a.tm.getAuth()).apiBase, 'https://api.individual.githubcopilot.com');
    a.tm.stop();
    const override = testConfig(home.dir, 'http://127.0.0.1:9', { GITHUB_COPILOT_SVCS_COPILOT_API_URL: 'http://127.0.0.1:7777/' });
    const b = setup({ extra: { config: override } });
    assert.equal((await b.tm.getAuth()).apiBase, 'http://127.0.0.1:7777');
    b.tm.stop();
  });

  test('a GitHub token from the environment is used and never written', async () => {
    const { tm, store, calls } = setup({ stored: null, extra: { env: { GITHUB_COPILOT_SVCS_GITHUB_TOKEN: 'gho_from_env_123' } } });
    await tm.start();
    await tm.getAuth();
    assert.deepEqual(calls, ['gho_from_env_123']);
    assert.equal(store.saved.length, 0);
    assert.equal(tm.snapshot().store, 'env');
    tm.stop();
  });

  test('not signed in: AuthRequiredError, health not_signed_in, no exchange', async () => {
    const { tm, calls } = setup({ stored: null });
    await tm.start();
    await assert.rejects(tm.getAuth(), AuthRequiredError);
    const s = tm.snapshot();
    assert.equal(s.health, 'not_signed_in');
    assert.equal(s.hasGithubToken, false);
    assert.equal(calls.length, 0);
    tm.stop();
  });

  test('the snapshot never holds a token', async () => {
    const { tm } = setup();
    await tm.getAuth();
    const text = JSON.stringify(tm.snapshot());
    assert.doesNotMatch(text, /gho_|tid=/);
    tm.stop();
  });
});
