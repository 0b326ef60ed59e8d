import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { Agent } from 'undici';
import { runDeviceFlow, type DeviceCodePrompt } from '../../src/auth/device-flow.ts';
import { loadConfig } from '../../src/config/load.ts';
import { DeviceFlowError, GithubAuthRejectedError } from '../../src/errors.ts';
import { OAUTH_CLIENT_IDS, exchangeCopilotToken, getCopilotUser, toUsageSummary } from '../../src/upstream/github-client.ts';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/index.ts';
import { fakeTime, tempHome, testConfig } from './helpers.ts';

let fake: FakeUpstream;
const dispatcher = new Agent();
const home = tempHome();
before(async () => {
  fake = await startFakeUpstream();
});
after(async () => {
  await fake.close();
  await dispatcher.close();
  home.cleanup();
});
afterEach(() => {
  fake.clear();
  fake.clearInjections();
  fake.deviceFlow.script = [];
  fake.deviceFlow.interval = 5;
  fake.deviceFlow.numbersAsStrings = false;
});

function flow(opts: { app?: 'vscode' | 'opencode'; signal?: AbortSignal; deadlineMs?: number; openBrowser?: (u: string) => void } = {}) {
  const time = fakeTime();
  const prompts: DeviceCodePrompt[] = [];
  const progress: number[] = [];
  const p = runDeviceFlow({
    config: testConfig(home.dir, fake.url),
    dispatcher,
    clientId: OAUTH_CLIENT_IDS[opts.app ?? 'vscode'],
    onCode: (c) => prompts.push(c),
    onProgress: (x) => progress.push(x.nextPollIn),
    now: time.now,
    sleep: time.sleep,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.deadlineMs !== undefined ? { deadlineMs: opts.deadlineMs } : {}),
    ...(opts.openBrowser ? { openBrowser: opts.openBrowser } : {}),
  });
  return { p, time, prompts, progress };
}

describe('device flow', () => {
  test('pending, slow_down (+5 s), then a token; request bodies as GitHub documents them', async () => {
    fake.deviceFlow.script = ['authorization_pending', 'slow_down', 'authorization_pending', 'ok'];
    const opened: string[] = [];
    const { p, time, prompts } = flow({ openBrowser: (u) => opened.push(u) });
    const r = await p;
    assert.match(r.accessToken, /^gho_/);
    assert.equal(r.accessToken, fake.deviceFlow.issuedTokens[0]);
    assert.deepEqual(time.sleeps, [5000, 5000, 10000, 10000], 'interval, then +5 s after slow_down for every later poll');
    assert.equal(prompts.length, 1);
    assert.equal(prompts[0]?.userCode, 'ABCD-1234');
    assert.equal(prompts[0]?.verificationUri, `${fake.url}/login/device`);
    assert.deepEqual(opened, [`${fake.url}/login/device`]);
    const codeReq = fake.requests.find((q) => q.path === '/login/device/code');
    assert.deepEqual(codeReq?.body, { client_id: 'Iv1.b507a08c87ecfe98', scope: 'read:user' });
    const pollReq = fake.last('/login/oauth/access_token');
    assert.deepEqual(Object.keys((pollReq?.body ?? {}) as object).sort(), ['client_id', 'device_code', 'grant_type']);
    assert.equal(fake.counts.poll, 4);
  });

  test('numbers as strings (form-encoded style): interval and expires_in are read, slow_down still adds 5 s', async () => {
    fake.deviceFlow.numbersAsStrings = true;
    fake.deviceFlow.script = ['slow_down', 'authorization_pending', 'ok'];
    const { p, time, prompts } = flow();
    assert.match((await p).accessToken, /^gho_/);
    assert.deepEqual(time.sleeps, [5000, 10000, 10000], 'the string interval "10" from slow_down is honoured');
    assert.ok((prompts[0]?.expiresAt ?? 0) > time.now() + 800_000, 'expires_in "899" read as a number');
  });

  test('a browser that cannot be opened does not fail the flow', async () => {
    const { p } = flow({
      openBrowser: () => {
        throw new Error('no browser');
      },
    });
    assert.match((await p).accessToken, /^gho_/);
  });

  test('expired_token ends with a clear message', async () => {
    fake.deviceFlow.script = ['authorization_pending', 'expired_token'];
    const { p } = flow();
    await assert.rejects(p, (e: unknown) => e instanceof DeviceFlowError && e.reason === 'expired_token' && /expired/.test(e.message));
  });

  test('the code expiring on our side stops polling', async () => {
    fake.deviceFlow.script = Array.from({ length: 500 }, () => 'authorization_pending' as const);
    fake.deviceFlow.expiresIn = 30;
    try {
      const { p } = flow();
      await assert.rejects(p, (e: unknown) => e instanceof DeviceFlowError && e.reason === 'expired_token');
      assert.ok(fake.counts.poll <= 6);
    } finally {
      fake.deviceFlow.expiresIn = 899;
    }
  });

  test('access_denied ends with a clear message', async () => {
    fake.deviceFlow.script = ['access_denied'];
    const { p } = flow();
    await assert.rejects(p, (e: unknown) => e instanceof DeviceFlowError && e.reason === 'access_denied' && /denied/.test(e.message));
  });

  test('a total deadline', async () => {
    fake.deviceFlow.script = Array.from({ length: 50 }, () => 'authorization_pending' as const);
    const { p } = flow({ deadlineMs: 20_000 });
    await assert.rejects(p, (e: unknown) => e instanceof DeviceFlowError && e.reason === 'deadline');
    assert.equal(fake.counts.poll, 4);
  });

  test('Ctrl-C (AbortSignal) stops it cleanly', async () => {
    fake.deviceFlow.script = Array.from({ length: 50 }, () => 'authorization_pending' as const);
    const ac = new AbortController();
    const { p, prompts } = flow({ signal: ac.signal });
    // Abort once the code is shown.
    while (prompts.length === 0) await new Promise((r) => setImmediate(r));
    ac.abort();
    await assert.rejects(p, (e: unknown) => e instanceof DeviceFlowError && e.reason === 'aborted');
  });

  test('a 5xx while polling is not fatal', async () => {
    fake.failNext(1, { status: 502, body: 'bad gateway', path: '/login/oauth/access_token' });
    const { p } = flow();
    assert.match((await p).accessToken, /^gho_/);
    assert.equal(fake.counts.poll, 2);
  });
});

describe('both OAuth apps', () => {
  test('vscode: the token is exchanged for a Copilot token with editor headers and `token` auth', async () => {
    const { p } = flow({ app: 'vscode' });
    const gh = (await p).accessToken;
    const cfg = testConfig(home.dir, fake.url);
    const t = await exchangeCopilotToken({ dispatcher, config: cfg }, gh);
    assert.match(t.token, /^tid=/);
    assert.equal(t.endpoints?.api, fake.url);
    assert.ok(t.refresh_in > 0 && t.expires_at > Date.now() / 1000);
    const req = fake.last('/copilot_internal/v2/token');
    assert.equal(req?.headers.authorization, `token ${gh}`);
    assert.ok(req?.headers['editor-version']);
    assert.ok(req?.headers['editor-plugin-version']);
  });

  test('opencode: its own client id; the exchange answers 404 (GithubAuthRejectedError), the token works as Bearer', async () => {
    const { p } = flow({ app: 'opencode' });
    const gh = (await p).accessToken;
    assert.equal((fake.requests.find((q) => q.path === '/login/device/code')?.body as { client_id?: string }).client_id, 'Ov23li8tweQw6odWQebz');
    const cfg = testConfig(home.dir, fake.url);
    await assert.rejects(exchangeCopilotToken({ dispatcher, config: cfg }, gh), (e: unknown) => e instanceof GithubAuthRejectedError && e.upstreamStatus === 404 && !e.message.includes(gh));
    const { listModels } = await import('../../src/upstream/copilot-client.ts');
    const models = await listModels(dispatcher, { auth: { token: gh, apiBase: fake.url } });
    assert.ok(models.length > 0);
  });

  test('a revoked token: 401, and the error never contains the token', async () => {
    const gh = fake.createGithubToken();
    fake.revokeGithubToken(gh);
    const cfg = testConfig(home.dir, fake.url);
    await assert.rejects(exchangeCopilotToken({ dispatcher, config: cfg }, gh), (e: unknown) => e instanceof GithubAuthRejectedError && e.upstreamStatus === 401 && !e.message.includes(gh));
  });

  test('no Copilot access: 403 with GitHub message', async () => {
    const gh = fake.createGithubToken({ copilotAccess: false });
    const cfg = testConfig(home.dir, fake.url);
    await assert.rejects(exchangeCopilotToken({ dispatcher, config: cfg }, gh), /403: Resource not accessible by integration/);
  });

  test('usage: /copilot_internal/user to a summary', async () => {
    const gh = fake.createGithubToken();
    const cfg = testConfig(home.dir, fake.url);
    const user = await getCopilotUser({ dispatcher, config: cfg }, gh);
    assert.deepEqual(toUsageSummary(user), { plan: 'individual', entitlement: 300, remaining: 240, percentRemaining: 80, unlimited: false, resetDate: '2026-12-01' });
  });
});

describe('GitHub Enterprise', () => {
  test('enterprise_url derives the device-flow, exchange and API URLs', () => {
    const cfg = loadConfig({ env: { GITHUB_COPILOT_SVCS_HOME: home.dir, GITHUB_COPILOT_SVCS_ENTERPRISE_URL: 'https://Company.GHE.com/' } });
    assert.equal(cfg.enterprise_url, 'company.ghe.com');
    assert.equal(cfg.github_url, 'https://company.ghe.com');
    assert.equal(cfg.github_api_url, 'https://api.company.ghe.com');
    assert.equal(cfg.copilot_api_url, 'https://copilot-api.company.ghe.com');
  });

  test('the device flow and exchange use the derived URLs', async () => {
    const seen: string[] = [];
    const { MockAgent } = await import('undici');
    const mock = new MockAgent();
    mock.disableNetConnect();
    const web = mock.get('https://company.ghe.com');
    web.intercept({ path: '/login/device/code', method: 'POST' }).reply(200, () => {
      seen.push('device/code');
      return { device_code: 'dc', user_code: 'GHE-0001', verification_uri: 'https://company.ghe.com/login/device', expires_in: 900, interval: 5 };
    });
    web.intercept({ path: '/login/oauth/access_token', method: 'POST' }).reply(200, () => {
      seen.push('access_token');
      return { access_token: 'ghu_enterprise_token', token_type: 'bearer', scope: 'read:user' };
    });
    mock
      .get('https://api.company.ghe.com')
      .intercept({ path: '/copilot_internal/v2/token', method: 'GET' })
      .reply(200, () => {
        seen.push('exchange');
        return { token: 'tid=ghe', expires_at: 2_000_000_000, refresh_in: 1500, endpoints: { api: 'https://copilot-api.company.ghe.com' } };
      });
    try {
      const cfg = loadConfig({ env: { GITHUB_COPILOT_SVCS_HOME: home.dir, GITHUB_COPILOT_SVCS_ENTERPRISE_URL: 'company.ghe.com' } });
      const time = fakeTime();
      const r = await runDeviceFlow({ config: cfg, dispatcher: mock, clientId: OAUTH_CLIENT_IDS.vscode, onCode: () => {}, now: time.now, sleep: time.sleep });
      const t = await exchangeCopilotToken({ dispatcher: mock, config: cfg }, r.accessToken);
      assert.equal(t.endpoints?.api, 'https://copilot-api.company.ghe.com');
      assert.deepEqual(seen, ['device/code', 'access_token', 'exchange']);
    } finally {
      await mock.close();
    }
  });
});
