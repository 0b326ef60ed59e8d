import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { StoredTokens } from '../../src/auth/token-store.ts';
import { statusJsonSchema } from '../../src/cli/status.ts';
import { doctorJsonSchema } from '../../src/cli/doctor.ts';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/index.ts';
import { BIN, runCli, startCli, type CliResult } from '../helpers/cli.ts';
import { healthBodySchema } from '../../src/ipc/bodies.ts';
import { tokenJsonSchema } from '../../src/auth/snapshot.ts';
import { tempHome } from '../auth/helpers.ts';
import { DESKTOP_ENV_UNSET, recorder, type Recorder } from '../helpers/os-stubs.ts';

// Every command through the built bin (dist/github-copilot-svcs.mjs) against the fake GitHub/Copilot.

let fake: FakeUpstream;
const cleanups: Array<() => void> = [];
before(async () => {
  fake = await startFakeUpstream();
});
after(async () => {
  await fake.close();
  for (const c of cleanups) c();
});
afterEach(() => {
  fake.clear();
  fake.clearInjections();
  fake.deviceFlow.script = [];
  fake.deviceFlow.interval = 0;
});

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  await new Promise<void>((r) => srv.close(() => r()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitUntil<T>(what: string, fn: () => T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/**
 * Every CLI here runs with a stub browser at the OS boundary: `open` runs its
 * real bundled xdg-open, which (no DISPLAY, no desktop environment) launches
 * $BROWSER; the stub records the URL. The stub's directory also comes first on
 * PATH, for a system xdg-open. No test can open a real browser.
 */
async function setup(extra: NodeJS.ProcessEnv = {}, opts: { browserExitCode?: number } = {}) {
  const h = tempHome();
  cleanups.push(h.cleanup);
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-cli-os-'));
  cleanups.push(() => fs.rmSync(bin, { recursive: true, force: true }));
  const browser: Recorder = recorder(bin, 'test-browser', { exitCode: opts.browserExitCode ?? 0 });
  fake.deviceFlow.interval = 0; // real time in a spawned CLI: poll at once
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...DESKTOP_ENV_UNSET,
    PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
    BROWSER: browser.path,
    GITHUB_COPILOT_SVCS_HOME: h.dir,
    GITHUB_COPILOT_SVCS_GITHUB_URL: fake.url,
    GITHUB_COPILOT_SVCS_GITHUB_API_URL: fake.url,
    GITHUB_COPILOT_SVCS_COPILOT_API_URL: fake.url,
    GITHUB_COPILOT_SVCS_KEYCHAIN: 'off',
    GITHUB_COPILOT_SVCS_PORT: String(port),
    ...extra,
  };
  const tokenFile = path.join(h.dir, 'tokens.json');
  const configFile = path.join(h.dir, 'config.json');
  return {
    home: h.dir,
    env,
    browser,
    port,
    tokenFile,
    configFile,
    cli: (args: string[], opts: { input?: string; readerQuits?: boolean } = {}) => runCli(args, env, opts),
    writeTokens(t: StoredTokens) {
      fs.writeFileSync(tokenFile, JSON.stringify(t), { mode: 0o600 });
    },
    readTokens(): StoredTokens {
      return JSON.parse(fs.readFileSync(tokenFile, 'utf8')) as StoredTokens;
    },
  };
}

const nowSec = () => Math.floor(Date.now() / 1000);
const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const lines = (r: CliResult) => r.stdout.trimEnd().split('\n');

function assertNoSecrets(r: CliResult, ...secrets: string[]) {
  for (const s of secrets) {
    assert.ok(!r.stdout.includes(s), 'a token leaked to stdout');
    assert.ok(!r.stderr.includes(s), 'a token leaked to stderr');
  }
  assert.doesNotMatch(r.stdout + r.stderr, /tid=/);
}

/** The first of next month (UTC), as the credits line says it: "Jan 1". */
function nextReset(): string {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)).toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });
}

describe('auth', () => {
  test('device flow (vscode): shows the code, saves the token 0600, records oauth_app', async () => {
    const s = await setup();
    fake.deviceFlow.script = ['authorization_pending', 'authorization_pending', 'ok'];
    const r = await s.cli(['auth', '--no-browser']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`open ${fake.url}/login/device and enter the code: ABCD-1234`));
    assert.match(r.stdout, /✓ Signed in to GitHub Copilot \(OAuth app: vscode\)/);
    assert.match(r.stdout, /Copilot token expires: in (29m 5\ds|30m 0s)/);
    const gh = fake.deviceFlow.issuedTokens[0] ?? '';
    const saved = s.readTokens();
    assert.equal(saved.github_token, gh);
    assert.match(saved.copilot_token ?? '', /^tid=/);
    assert.equal(fs.statSync(s.tokenFile).mode & 0o777, 0o600);
    assert.equal(fs.statSync(s.home).mode & 0o777, 0o700);
    assert.deepEqual(JSON.parse(fs.readFileSync(s.configFile, 'utf8')), { oauth_app: 'vscode' });
    assert.equal(fs.statSync(s.configFile).mode & 0o777, 0o600);
    assert.equal(fake.counts.exchange, 1);
    assertNoSecrets(r, gh, saved.copilot_token ?? 'x');
    assert.doesNotMatch(r.stdout, /opening your browser/);
    await sleep(300); // a launcher would have reached the browser by now
    assert.deepEqual(s.browser.calls(), [], '--no-browser opens nothing');
  });

  test('without --no-browser: the real launcher (open → xdg-open → $BROWSER) gets exactly the verification URL', async () => {
    const s = await setup();
    fake.deviceFlow.script = ['authorization_pending', 'ok'];
    const r = await s.cli(['auth']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`open ${fake.url}/login/device and enter the code: ABCD-1234`));
    assert.match(r.stdout, /\(opening your browser; if nothing opens, use the link above\)/);
    assert.match(r.stdout, /✓ Signed in to GitHub Copilot \(OAuth app: vscode\)/);
    assert.equal(s.readTokens().github_token, fake.deviceFlow.issuedTokens.at(-1));
    // open() returns once xdg-open has started (detached); it may reach the browser after the CLI exited.
    await waitUntil('the browser to be launched', () => s.browser.calls().length > 0);
    await sleep(300);
    assert.deepEqual(s.browser.calls(), [[`${fake.url}/login/device`]]);
  });

  for (const variant of ['a browser that exits 1', 'a BROWSER that does not exist'] as const) {
    test(`${variant}: auth still shows the link and code and signs in`, async () => {
      const failing = variant === 'a browser that exits 1';
      const s = await setup({}, { browserExitCode: 1 });
      if (!failing) s.env.BROWSER = path.join(path.dirname(s.browser.path), 'no-such-browser');
      fake.deviceFlow.script = ['authorization_pending', 'ok'];
      const r = await s.cli(['auth']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`open ${fake.url}/login/device and enter the code: ABCD-1234`));
      assert.match(r.stdout, /✓ Signed in to GitHub Copilot/);
      assert.equal(s.readTokens().github_token, fake.deviceFlow.issuedTokens.at(-1));
      if (failing) {
        // xdg-open really tried it (and, finding no other way, gave up with exit 3).
        const calls = await waitUntil('the browser to be tried', () => s.browser.calls().length > 0 && s.browser.calls());
        for (const c of calls) assert.deepEqual(c, [`${fake.url}/login/device`]);
      }
    });
  }

  test('device flow (opencode): its client id, no exchange, recorded in config.json; status agrees', async () => {
    const s = await setup();
    const r = await s.cli(['auth', '--no-browser', '--oauth-app', 'opencode']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((fake.requests.find((q) => q.path === '/login/device/code')?.body as { client_id?: string }).client_id, 'Ov23li8tweQw6odWQebz');
    assert.equal(fake.counts.exchange, 0);
    assert.equal(JSON.parse(fs.readFileSync(s.configFile, 'utf8')).oauth_app, 'opencode');
    const st = await s.cli(['status']);
    assert.match(st.stdout, /OAuth app: opencode/);
    assert.match(st.stdout, /Token expires: never/);
    assert.match(st.stdout, /Status: ✅ Token is healthy/);
  });

  test('expired_token and access_denied end with exit 1 and a clear message', async () => {
    const s = await setup();
    fake.deviceFlow.script = ['authorization_pending', 'expired_token'];
    const r1 = await s.cli(['auth', '--no-browser']);
    assert.equal(r1.code, 1);
    assert.match(r1.stderr, /code expired/);
    fake.deviceFlow.script = ['access_denied'];
    const r2 = await s.cli(['auth', '--no-browser']);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /denied/);
    assert.equal(fs.existsSync(s.tokenFile), false);
  });

  test('--token imports a token (also from stdin); a rejected token is not saved and never printed', async () => {
    const s = await setup();
    const good = fake.createGithubToken();
    const r = await s.cli(['auth', '--token', good]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(s.readTokens().github_token, good);
    assertNoSecrets(r, good);

    const viaStdin = fake.createGithubToken();
    const r2 = await s.cli(['auth', '--token', '-'], { input: `${viaStdin}\n` });
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal(s.readTokens().github_token, viaStdin);

    const bad = fake.createGithubToken();
    fake.revokeGithubToken(bad);
    const r3 = await s.cli(['auth', '--token', bad]);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /not saved.*401/);
    assert.equal(s.readTokens().github_token, viaStdin, 'the working token stays');
    assertNoSecrets(r3, bad);
  });

  test('SIGINT stops a waiting device flow cleanly', async () => {
    const s = await setup();
    fake.deviceFlow.interval = 1;
    fake.deviceFlow.script = Array.from({ length: 100 }, () => 'authorization_pending' as const);
    const p = startCli(['auth', '--no-browser'], s.env);
    await p.waitFor(/enter the code/);
    p.child.kill('SIGINT');
    const ended = await p.exited;
    assert.equal(ended.code, 1);
    assert.match(p.output(), /Sign-in cancelled/);
  });

  test('usage errors exit 2', async () => {
    const s = await setup();
    const r = await s.cli(['auth', '--oauth-app', 'nope']);
    assert.equal(r.code, 2);
    const r2 = await s.cli(['status', '--port', 'abc']);
    assert.equal(r2.code, 2);
  });
});

describe('status', () => {
  test('healthy: the Go tool lines, plus store, app, API base and proxy', async () => {
    const s = await setup();
    const gh = fake.createGithubToken();
    s.writeTokens({ github_token: gh, oauth_app: 'vscode', copilot_token: 'tid=abc;exp=1', expires_at: nowSec() + 1793, refresh_in: 1500, obtained_at: nowSec() - 7, api_base: 'https://api.individual.githubcopilot.com' });
    const r = await s.cli(['status']);
    assert.equal(r.code, 0, r.stderr);
    const l = lines(r);
    assert.equal(l[0], `Configuration file: ${s.configFile}`);
    assert.equal(l[1], `Port: ${s.port}`);
    assert.equal(l[2], 'Authentication: ✓ Authenticated');
    // The Go tool's format; the exact seconds depend on how long the CLI took to start.
    const m = /^Token expires: in (\d+)m (\d+)s \((\d+) seconds\)$/.exec(l[3] ?? '');
    assert.ok(m, l[3]);
    assert.equal(Number(m[1]) * 60 + Number(m[2]), Number(m[3]));
    assert.ok(Number(m[3]) <= 1793 && Number(m[3]) > 1700);
    assert.equal(l[4], 'Status: ✅ Token is healthy');
    assert.equal(l[5], 'Has GitHub token: true');
    assert.equal(l[6], 'Refresh interval: 1500 seconds');
    assert.equal(l[7], `Token store: file (${s.tokenFile})`);
    assert.equal(l[8], 'OAuth app: vscode');
    assert.equal(l[9], `API base: ${fake.url}`, 'copilot_api_url from the env wins');
    assert.equal(l[10], `Proxy: not running on port ${s.port}`);
    assertNoSecrets(r, gh);
    assert.doesNotMatch(r.stdout, /\u001b\[/, 'no colour when not a TTY');
  });

  test('refresh soon and expired', async () => {
    const s = await setup();
    const base = { github_token: fake.createGithubToken(), oauth_app: 'vscode' as const, copilot_token: 'tid=x', refresh_in: 1500 };
    s.writeTokens({ ...base, expires_at: nowSec() + 200, obtained_at: nowSec() - 1600 });
    const soon = await s.cli(['status']);
    assert.match(soon.stdout, /^Status: ⚠️ Token will be refreshed soon$/m);
    s.writeTokens({ ...base, expires_at: nowSec() - 60, obtained_at: nowSec() - 1860 });
    const expired = await s.cli(['status']);
    assert.match(expired.stdout, /^Token expires: ⚠️ {2}EXPIRED \(6\d seconds ago\)$/m);
    assert.match(expired.stdout, /^Status: ❌ Token needs refresh$/m);
    assert.equal(fake.counts.exchange, 0, 'status only looks');
  });

  test('not signed in, and --json', async () => {
    const s = await setup();
    const r = await s.cli(['status']);
    assert.match(r.stdout, /^Authentication: ✗ Not authenticated$/m);
    // The same words as the tray and /health, with what to do, said once, naming the command as it was started
    // (here `node <path>`: no github-copilot-svcs on PATH is this program).
    assert.match(r.stdout, new RegExp(`^Status: ❌ Not signed in — run 'node ${esc(BIN)} auth'$`, 'm'));
    assert.equal(r.stdout.match(/ auth'/g)?.length, 1, r.stdout);
    // The global command when the one on PATH is this program; npx when npx started it.
    fs.symlinkSync(BIN, path.join(path.dirname(s.browser.path), 'github-copilot-svcs'));
    assert.match((await s.cli(['status'])).stdout, /^Status: ❌ Not signed in — run 'github-copilot-svcs auth'$/m);
    const npx = await runCli(['status'], { ...s.env, npm_command: 'exec' });
    assert.match(npx.stdout, /^Status: ❌ Not signed in — run 'npx github-copilot-svcs auth'$/m);
    const none = statusJsonSchema.parse(JSON.parse((await s.cli(['status', '--json'])).stdout));
    assert.deepEqual([none.token.signed_in, none.token.health, none.token.health_text], [false, 'not_signed_in', '❌ Not signed in']);
    s.writeTokens({ github_token: fake.createGithubToken(), oauth_app: 'vscode', copilot_token: 'tid=x', expires_at: nowSec() + 1000, refresh_in: 1500, obtained_at: nowSec() - 800 });
    const j = await s.cli(['status', '--json']);
    const parsed = statusJsonSchema.parse(JSON.parse(j.stdout));
    assert.equal(parsed.token.signed_in, true);
    assert.equal(parsed.token.health, 'healthy');
    assert.equal(parsed.token.store, 'file');
    assert.equal(parsed.token_file, s.tokenFile);
    assert.equal(parsed.token.oauth_app, 'vscode');
    assert.equal(parsed.proxy.running, false);
    assert.equal(parsed.token.refresh_in, 1500);
    assert.doesNotMatch(j.stdout, /gho_|tid=/);
  });

  test('a token from the environment', async () => {
    const gh = fake.createGithubToken();
    const s = await setup({ GITHUB_COPILOT_SVCS_GITHUB_TOKEN: gh });
    const r = await s.cli(['status']);
    assert.match(r.stdout, /Token store: environment/);
    assertNoSecrets(r, gh);
  });
});

describe('refresh, models, usage, config (no proxy running)', () => {
  test('refresh exchanges and saves a new Copilot token', async () => {
    const s = await setup();
    const gh = fake.createGithubToken();
    s.writeTokens({ github_token: gh, oauth_app: 'vscode', copilot_token: 'tid=old', expires_at: nowSec() + 100, refresh_in: 1500 });
    const r = await s.cli(['refresh']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Refreshed by this command \(saved to the token file\)/);
    assert.match(r.stdout, /Status: ✅ Token is healthy/);
    assert.equal(fake.counts.exchange, 1);
    assert.notEqual(s.readTokens().copilot_token, 'tid=old');
    assertNoSecrets(r, gh);
  });

  test('refresh with a rejected GitHub token: exit 1, says to sign in', async () => {
    const s = await setup();
    const gh = fake.createGithubToken();
    fake.revokeGithubToken(gh);
    s.writeTokens({ github_token: gh, oauth_app: 'vscode' });
    const r = await s.cli(['refresh']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /auth/);
    assertNoSecrets(r, gh);
    const none = await setup();
    const r2 = await none.cli(['refresh']);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /Not signed in/);
  });

  test('models: a table and --json', async () => {
    const s = await setup();
    s.writeTokens({ github_token: fake.createGithubToken(), oauth_app: 'vscode' });
    const r = await s.cli(['models']);
    assert.equal(r.code, 0, r.stderr);
    const l = lines(r);
    assert.match(l[0] ?? '', /^ID\s+VENDOR\s+NAME\s+CONTEXT\s+MAX OUTPUT\s+TOOLS\s+VISION\s+PREMIUM\s+ENABLED$/);
    const first = fake.models[0];
    assert.ok(first);
    assert.ok(l.some((x) => x.startsWith(`${first.id} `)));
    const j = await s.cli(['models', '--json']);
    const rows = JSON.parse(j.stdout) as Array<{ id: string; contextWindow: number | null }>;
    assert.equal(rows.length, new Set(fake.models.map((m) => m.id)).size);
    assert.equal(rows.find((x) => x.id === first.id)?.contextWindow, first.capabilities.limits?.max_context_window_tokens ?? null);
  });

  test('usage: entitlement, remaining, percent, reset date', async () => {
    const s = await setup();
    s.writeTokens({ github_token: fake.createGithubToken(), oauth_app: 'vscode' });
    const r = await s.cli(['usage']);
    assert.equal(r.code, 0, r.stderr);
    // 'individual' is Copilot's plan id for Free and Pro alike: no allowance is guessed from it.
    assert.deepEqual(lines(r).slice(0, 4), ['Plan: individual', `AI credits: 0 used · resets ${nextReset()}`, 'Premium requests: 240 of 300 remaining (80%)', 'Resets: 2026-12-01']);
    assert.equal(lines(r).at(-1), 'Local usage (last 30 days): no requests recorded');
    const j = await s.cli(['usage', '--json']);
    const { local, credits, quotaError, ...quota } = JSON.parse(j.stdout) as { local: { by: string; totals: unknown[] }; credits: { allowance: unknown }; quotaError: unknown };
    assert.deepEqual(quota, { plan: 'individual', entitlement: 300, remaining: 240, percentRemaining: 80, unlimited: false, resetDate: '2026-12-01' });
    assert.deepEqual([credits.allowance, quotaError], [null, null]);
    assert.deepEqual([local.by, local.totals], ['model', []]);
    const bad = await s.cli(['usage', '--by', 'colour']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--by must be one of model, client, day, initiator/);
    // Signed out, the local records are still shown (they need no token); the quota says why it is missing.
    const none = await setup();
    const r2 = await none.cli(['usage']);
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(lines(r2)[0] ?? '', /^Quota: unavailable \(Not signed in/);
    assert.equal(lines(r2).at(-1), 'Local usage (last 30 days): no requests recorded');
  });

  test('a reader that quits early (`usage | head`): the command ends quietly, exit 0, no stack trace', async () => {
    const s = await setup();
    s.writeTokens({ github_token: fake.createGithubToken(), oauth_app: 'vscode' });
    for (const args of [['usage'], ['models'], ['config'], ['--help']]) {
      const r = await s.cli(args, { readerQuits: true });
      assert.deepEqual([args, r.code, r.stderr], [args, 0, ''], `${args.join(' ')}: ${r.stderr}`);
    }
  });

  test('every command says what the configuration ignored (an unknown key, with its did-you-mean), but config get', async () => {
    const s = await setup();
    fs.writeFileSync(s.configFile, JSON.stringify({ prot: 8082 }), { mode: 0o600 });
    for (const args of [['status'], ['models'], ['config']]) {
      const r = await s.cli(args);
      assert.match(r.stderr, /^warning: .*config\.json: unknown key "prot" ignored \(did you mean "port"\?\)$/m, args.join(' '));
    }
    assert.equal((await s.cli(['config', 'get', 'port'])).stderr, '');
  });

  test('config: sources per key, secrets masked', async () => {
    const gh = ['gho', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123wxyz'].join('_'); // built at run time: no token-shaped literal in the repo
    const s = await setup({ GITHUB_COPILOT_SVCS_API_KEY: 'sk-local-secret-key-9876', GITHUB_COPILOT_SVCS_GITHUB_TOKEN: gh });
    fs.writeFileSync(s.configFile, JSON.stringify({ max_queue: 12, timeouts: { http_client: 99 } }), { mode: 0o600 });
    const r = await s.cli(['config', '--log-level', 'warn']);
    assert.equal(r.code, 0, r.stderr);
    const row = (key: string) => lines(r).find((l) => l.startsWith(`${key} `)) ?? '';
    assert.match(row('max_queue'), /\b12\s+file$/);
    assert.match(row('timeouts.http_client'), /\b99\s+file$/);
    assert.match(row('port'), /\benv$/);
    assert.match(row('log_level'), /warn\s+flag$/);
    assert.match(row('host'), /127\.0\.0\.1\s+default$/);
    assert.match(row('github_token'), /gho_…wxyz\s+env$/);
    assert.match(row('api_key'), /…9876\s+env$/);
    assertNoSecrets(r, gh, 'sk-local-secret-key-9876');
    const j = JSON.parse((await s.cli(['config', '--json'])).stdout) as Record<string, { value: unknown; source: string }>;
    assert.deepEqual(j.max_queue, { value: 12, source: 'file' });
    // The keys come from the config schema: these two were missing from a list of its own.
    assert.deepEqual(j.model_fallback, { value: true, source: 'default' });
    assert.deepEqual(j.monthly_credits, { value: null, source: 'default' });
  });

  test('config get, set and unset: one key, checked as the loader checks it before anything is written; the rest of the file kept', async () => {
    const s = await setup({ GITHUB_COPILOT_SVCS_PORT: '' });
    const goFile = { port: 8081, cors: { allowed_origins: ['*'] }, allowed_models: null, timeouts: { http_client: 300 } };
    fs.writeFileSync(s.configFile, JSON.stringify(goFile), { mode: 0o600 });
    const file = () => JSON.parse(fs.readFileSync(s.configFile, 'utf8'));

    const set = await s.cli(['config', 'set', 'port', '8082']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, `Set port = 8082 in ${s.configFile}.\n`);
    assert.deepEqual(file(), { ...goFile, port: 8082 });
    assert.equal(fs.statSync(s.configFile).mode & 0o777, 0o600);
    assert.equal((await s.cli(['config', 'get', 'port'])).stdout, '8082\n');
    assert.deepEqual(JSON.parse((await s.cli(['config', 'get', 'port', '--json'])).stdout), { key: 'port', value: 8082, source: 'file' });

    // JSON when the key takes it, else the text itself (digits for a string key stay a string).
    for (const [k, v] of [['allowed_models', '["gpt-4.1"]'], ['log_level', 'debug'], ['api_key', '12345678'], ['timeouts.first_byte', '45'], ['headers.user_agent', 'x/1']] as const) {
      const r = await s.cli(['config', 'set', k, v]);
      assert.equal(r.code, 0, `${k}: ${r.stderr}`);
    }
    assert.deepEqual(file(), { ...goFile, port: 8082, allowed_models: ['gpt-4.1'], log_level: 'debug', api_key: '12345678', timeouts: { http_client: 300, first_byte: 45 }, headers: { user_agent: 'x/1' } });
    // A whole block: each of its keys, as `config` shows them.
    const timeouts = await s.cli(['config', 'get', 'timeouts']);
    assert.equal(timeouts.code, 0, timeouts.stderr);
    assert.match(timeouts.stdout, /timeouts\.first_byte\s+45\s+file/);
    assert.match(timeouts.stdout, /timeouts\.stream_idle\s+\d+\s+default/);
    const headers: unknown = JSON.parse((await s.cli(['config', 'get', 'headers', '--json'])).stdout);
    assert.ok(typeof headers === 'object' && headers !== null);
    assert.deepEqual(Reflect.get(headers, 'headers.user_agent'), { value: 'x/1', source: 'file' });
    assert.ok(Object.keys(headers).every((k) => k.startsWith('headers.')) && Object.hasOwn(headers, 'headers.editor_version'), 'the block, with the defaults');
    assert.equal((await s.cli(['config', 'get', 'timeout'])).code, 2, 'no such block');
    // Listening beyond loopback: said at once when no api_key would let run start.
    const exposed = await s.cli(['config', 'set', 'host', '0.0.0.0']);
    assert.equal(exposed.code, 0, exposed.stderr);
    assert.doesNotMatch(exposed.stderr, /no api_key/, 'api_key 12345678 is set');
    const unkeyed = await s.cli(['config', 'unset', 'api_key']);
    assert.equal(unkeyed.code, 0);
    assert.match(unkeyed.stderr, /host 0\.0\.0\.0 is reachable from other machines and no api_key is set/, 'the change that exposes it says so');
    assert.match((await s.cli(['config', 'get', 'port'])).stderr, /^$/);
    const open = await s.cli(['config', 'set', 'log_level', 'debug']);
    assert.match(open.stderr, /host 0\.0\.0\.0 is reachable from other machines and no api_key is set, so run will refuse to start: set one \(config set api_key/);
    assert.equal((await s.cli(['config', 'unset', 'host'])).code, 0);
    assert.doesNotMatch((await s.cli(['config', 'set', 'log_level', 'debug'])).stderr, /api_key/);
    assert.doesNotMatch((await s.cli(['config', 'set', 'api_key', 'sk-local-secret-key-9876'])).stdout, /secret/);
    assert.match((await s.cli(['config', 'get', 'api_key'])).stdout, /^…9876$/m);

    // Wrong values and keys: the loader's own words, exit 2, nothing written.
    const before = fs.readFileSync(s.configFile, 'utf8');
    const bad = await s.cli(['config', 'set', 'port', '70000']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^config set: port not set: port: must be 0-65535 \(0 picks a free port\) \(got 70000\)\. .*config\.json was not changed\.$/m);
    assert.equal(bad.stderr.split(s.configFile).length, 2, 'the file is named once');
    const typo = await s.cli(['config', 'set', 'prot', '1']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /unknown config key "prot" \(did you mean "port"\?\)/);
    const token = await s.cli(['config', 'set', 'github_token', 'x']);
    assert.equal(token.code, 2);
    assert.match(token.stderr, /sign in with 'auth'/);
    assert.equal((await s.cli(['config', 'get', 'nope'])).code, 2);
    assert.equal(fs.readFileSync(s.configFile, 'utf8'), before);

    // A list as the env vars take it, comma-separated.
    assert.equal((await s.cli(['config', 'set', 'allowed_models', 'gpt-4.1, gpt-4o'])).code, 0);
    assert.deepEqual(file().allowed_models, ['gpt-4.1', 'gpt-4o']);
    assert.equal((await s.cli(['config', 'set', 'allowed_models', 'gpt-4.1'])).code, 0, 'one name is a list of one');
    assert.deepEqual(file().allowed_models, ['gpt-4.1']);
    assert.equal((await s.cli(['config', 'unset', 'allowed_models'])).code, 0);

    // Unset: the key goes, an emptied block goes with it; unsetting again changes nothing.
    assert.equal((await s.cli(['config', 'unset', 'headers.user_agent'])).code, 0);
    assert.equal((await s.cli(['config', 'unset', 'timeouts.first_byte'])).code, 0);
    assert.equal(Object.hasOwn(file(), 'headers'), false);
    assert.deepEqual(file().timeouts, { http_client: 300 });
    assert.match((await s.cli(['config', 'unset', 'headers.user_agent'])).stdout, /is not set in .*nothing changed/);
    // cors_origins shown from the Go tool's cors.allowed_origins: unset clears that too (it said "not set").
    fs.writeFileSync(s.configFile, JSON.stringify({ ...file(), cors: { allowed_origins: ['http://localhost:3000'], allowed_headers: ['*'] } }));
    assert.match((await s.cli(['config'])).stdout, /cors_origins\s+\S*localhost:3000\S*\s+file/);
    const cors = await s.cli(['config', 'unset', 'cors_origins']);
    assert.equal(cors.code, 0, cors.stderr);
    assert.match(cors.stdout, /^Removed cors_origins and cors\.allowed_origins from /);
    assert.deepEqual(file().cors, { allowed_headers: ['*'] }, 'the rest of the Go tool\'s block kept');
    assert.match((await s.cli(['config'])).stdout, /cors_origins\s+\S+\s+default/);
    assert.deepEqual(JSON.parse((await s.cli(['config', 'get', 'cors_origins', '--json'])).stdout), { key: 'cors_origins', value: [], source: 'default' });
    const goCors = file();
    delete goCors.cors;
    fs.writeFileSync(s.configFile, JSON.stringify(goCors));

    // A file that is already wrong is mended one key at a time: a change that adds no problem is written,
    // and what is still wrong is said; unset takes the unknown key the loader's warning names.
    fs.writeFileSync(s.configFile, JSON.stringify({ port: 70000, timeouts: { shutdwn: 3 } }));
    const mend = await s.cli(['config', 'set', 'timeouts.shutdown', '3']);
    assert.equal(mend.code, 0, mend.stderr);
    assert.match(mend.stderr, /still has 2 problems .*\n {2}port: must be 0-65535/, 'each problem under the line that names the file');
    assert.equal((await s.cli(['config', 'set', 'log_level', 'loud'])).code, 2, 'a problem of its own is refused');
    assert.equal((await s.cli(['config', 'unset', 'timeouts.shutdwn'])).code, 0);
    const last = await s.cli(['config', 'set', 'port', '8084']);
    assert.equal(last.code, 0, last.stderr);
    assert.doesNotMatch(last.stderr, /still has/);
    assert.deepEqual(file(), { port: 8084, timeouts: { shutdown: 3 } });
    // A usage error in a subcommand exits 2, as every usage error does.
    assert.equal((await s.cli(['config', 'get'])).code, 2);
    assert.equal((await s.cli(['config', 'set', 'port'])).code, 2);

    // An env var that wins over the file is named.
    const env = await runCli(['config', 'set', 'port', '8083'], { ...s.env, GITHUB_COPILOT_SVCS_PORT: '9999' });
    assert.equal(env.code, 0, env.stderr);
    assert.match(env.stderr, /GITHUB_COPILOT_SVCS_PORT is set and wins over config\.json/);
  });

  test('--help on every command', async () => {
    const s = await setup();
    for (const cmd of ['auth', 'status', 'refresh', 'models', 'config', 'config set', 'usage']) {
      const r = await s.cli([...cmd.split(' '), '--help']);
      assert.equal(r.code, 0, `${cmd} --help`);
      assert.match(r.stdout, new RegExp(`^Usage: github-copilot-svcs ${cmd}`));
    }
    for (const cmd of ['auth']) {
      const r = await s.cli([cmd, '--help']);
      assert.equal(r.code, 0, `${cmd} --help`);
      assert.match(r.stdout, new RegExp(`^Usage: github-copilot-svcs ${cmd}`));
    }
    // The port's default is where it comes from, in precedence order, not a bare 8081 that the env var may override.
    const run = await s.cli(['run', '--help']);
    assert.match(run.stdout.replace(/\s+/g, ' '), /--port <port> port to listen on \(default: GITHUB_COPILOT_SVCS_PORT, else config\.json's port, else 8081\)/);
  });
});

describe('through a running proxy', () => {
  test('status, refresh, models and usage print the same as without one', async () => {
    const s = await setup();
    const gh = fake.createGithubToken();
    s.writeTokens({ github_token: gh, oauth_app: 'vscode' });
    // Direct first (this also exchanges and stores a Copilot token the proxy then reuses).
    const directModels = await s.cli(['models']);
    const directUsage = await s.cli(['usage']);
    assert.equal(directModels.code, 0, directModels.stderr);
    const proxy = startCli(['run'], s.env);
    try {
      await proxy.waitFor(/listening on/);
      const st = await s.cli(['status']);
      assert.equal(st.code, 0, st.stderr);
      assert.match(st.stdout, new RegExp(`^Proxy: running on http://127\\.0\\.0\\.1:${s.port}`, 'm'));
      assert.match(st.stdout, /^Status: ✅ Token is healthy$/m);
      assert.match(st.stdout, /^Token store: file/m);
      const viaModels = await s.cli(['models']);
      assert.equal(viaModels.stdout, directModels.stdout);
      const viaUsage = await s.cli(['usage']);
      assert.equal(viaUsage.stdout, directUsage.stdout);
      const before = fake.counts.exchange;
      const ref = await s.cli(['refresh']);
      assert.equal(ref.code, 0, ref.stderr);
      assert.match(ref.stdout, new RegExp(`Refreshed by the running proxy on http://127\\.0\\.0\\.1:${s.port}`));
      assert.equal(fake.counts.exchange, before + 1, 'the proxy did the exchange');
      for (const r of [st, viaModels, viaUsage, ref]) assertNoSecrets(r, gh);
      assert.ok(!proxy.output().includes(gh), 'the proxy never logs the token');

      // `dashboard`: the real launcher (open → xdg-open → $BROWSER) gets the running proxy's page, which answers.
      const dash = await s.cli(['dashboard']);
      assert.equal(dash.code, 0, dash.stderr);
      assert.match(dash.stdout, new RegExp(`^Dashboard: http://localhost:${s.port}/$`, 'm'));
      await waitUntil('the browser to be launched', () => s.browser.calls().length > 0);
      assert.deepEqual(s.browser.calls(), [[`http://localhost:${s.port}/`]]);
      const page = await fetch(`http://localhost:${s.port}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<title>GitHub Copilot proxy<\/title>/);
    } finally {
      proxy.child.kill('SIGTERM');
      await proxy.exited;
    }
    // No proxy: says how to start one, opens nothing.
    const none = await s.cli(['dashboard']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, new RegExp(`No proxy is running on http://127\\.0\\.0\\.1:${s.port}\\. Start it \\(node ${esc(BIN)} run, or the tray app\\), then open http://localhost:${s.port}/`));
    assert.equal(s.browser.calls().length, 1);
  });
});

describe('the CLI uses only its own proxy', () => {
  test('another program on the port (an HTTP server, a silent listener): status, doctor, dashboard and run name it; it is never called a proxy', async () => {
    const s = await setup();
    const web = http.createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>not here</h1>'));
    await new Promise<void>((resolve) => web.listen(s.port, '127.0.0.1', resolve));
    try {
      const st = await s.cli(['status']);
      assert.equal(st.code, 0, st.stderr);
      assert.match(st.stdout, new RegExp(`^Proxy: not running; port ${s.port} is held by another program \\(it answered HTTP 404 to /health\\)$`, 'm'));
      const sj = statusJsonSchema.parse(JSON.parse((await s.cli(['status', '--json'])).stdout));
      assert.deepEqual(sj.proxy, { running: false, url: `http://127.0.0.1:${s.port}`, version: null, held_by_other: false, held_by_program: 'it answered HTTP 404 to /health' });
      const dr = await s.cli(['doctor', '--json']);
      assert.equal(dr.code, 1);
      const proxyCheck = doctorJsonSchema.parse(JSON.parse(dr.stdout)).checks.find((c) => c.id === 'proxy');
      assert.equal(proxyCheck?.state, 'fail');
      assert.match(proxyCheck?.text ?? '', new RegExp(`port ${s.port} is held by another program \\(it answered HTTP 404`));
      const se = await s.cli(['setup', 'env']);
      assert.equal(se.code, 1);
      assert.match(se.stderr, new RegExp(`^❌ Port ${s.port} is held by another program \\(it answered HTTP 404`, 'm'));
      const db = await s.cli(['dashboard', '--no-browser']);
      assert.equal(db.code, 1);
      assert.match(db.stderr, new RegExp(`Port ${s.port} is held by another program \\(it answered HTTP 404 to /health\\)\\. Stop that program`));
      const run = await runCli(['run'], s.env);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, new RegExp(`Port ${s.port} on 127\\.0\\.0\\.1 is already in use by another program \\(it answered HTTP 404 to /health\\)\\. Stop that program`));
    } finally {
      await new Promise<void>((resolve) => web.close(() => resolve()));
    }

    const held: net.Socket[] = [];
    const silent = net.createServer((c) => {
      held.push(c);
      c.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(s.port, '127.0.0.1', resolve));
    try {
      const sj = statusJsonSchema.parse(JSON.parse((await s.cli(['status', '--json'])).stdout));
      assert.match(sj.proxy.held_by_program ?? '', /took the connection but did not answer \/health within 0\.8 s/);
    } finally {
      for (const c of held) c.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
    // Nothing there: none of it.
    const sj = statusJsonSchema.parse(JSON.parse((await s.cli(['status', '--json'])).stdout));
    assert.equal(sj.proxy.held_by_program, null);
  });

  test("/health names its data dir by an identity, never a path; status, auth, refresh and dashboard in another data dir are not fooled by it", async () => {
    const a = await setup();
    const ghA = fake.createGithubToken();
    a.writeTokens({ github_token: ghA, oauth_app: 'vscode' });
    const proxy = startCli(['run'], a.env);
    try {
      await proxy.waitFor(/listening on/);
      const health = healthBodySchema.parse(await (await fetch(`http://127.0.0.1:${a.port}/health`)).json());
      assert.match(health.instance.data_dir_id, /^[0-9a-f]{16}$/);
      assert.match(health.instance.id, /^[0-9a-f]{8}$/);
      const raw = await (await fetch(`http://127.0.0.1:${a.port}/health`)).text();
      assert.ok(!raw.includes(a.home) && !raw.includes(path.basename(a.home)), 'no path crosses the port');

      // B: another data dir, not signed in, configured for the same port.
      const b = await setup({ GITHUB_COPILOT_SVCS_PORT: String(a.port) });
      const st = await b.cli(['status']);
      assert.equal(st.code, 0, st.stderr);
      assert.match(st.stdout, /^Authentication: ✗ Not authenticated$/m);
      assert.match(st.stdout, new RegExp(`^Proxy: not running for this data dir; port ${a.port} is held by another data dir's proxy \\(version `, 'm'));
      const sj = statusJsonSchema.parse(JSON.parse((await b.cli(['status', '--json'])).stdout));
      assert.deepEqual([sj.token.signed_in, sj.proxy.running, sj.proxy.held_by_other, sj.proxy.held_by_program], [false, false, true, null]);

      const refreshesBefore = fake.counts.exchange;
      const ghB = fake.createGithubToken();
      const au = await b.cli(['auth', '--token', ghB, '--oauth-app', 'opencode']);
      assert.equal(au.code, 0, au.stderr);
      assert.match(au.stderr, new RegExp(`Port ${a.port} is held by a github-copilot-svcs proxy of another data dir or user`));
      assert.doesNotMatch(au.stdout, /running proxy/);
      assert.equal(b.readTokens().github_token, ghB, "B's token is saved in B");
      const aNow = healthBodySchema.parse(await (await fetch(`http://127.0.0.1:${a.port}/health`)).json());
      assert.equal(aNow.token.oauth_app, 'vscode', "A keeps A's sign-in");

      const rf = await b.cli(['refresh']);
      assert.equal(rf.code, 0, rf.stderr);
      assert.match(rf.stdout, /^Refreshed by this command/m);
      assert.equal(fake.counts.exchange, refreshesBefore, 'B (opencode) needs no exchange, and A was not asked to refresh');

      const dash = await b.cli(['dashboard']);
      assert.equal(dash.code, 1);
      assert.match(dash.stderr, new RegExp(`Port ${a.port} is held by a github-copilot-svcs proxy of another data dir`));
      assert.equal(b.browser.calls().length, 0);

      // A itself still uses its proxy.
      assert.match((await a.cli(['status'])).stdout, new RegExp(`^Proxy: running on http://127\\.0\\.0\\.1:${a.port}`, 'm'));
    } finally {
      proxy.child.kill('SIGTERM');
      await proxy.exited;
    }
  });
});

describe('logout and uninstall (file store; the keychain is tested in test/auth/keychain.test.ts)', () => {
  test('logout: the running proxy turns to needs_auth at once, the token file is gone, GitHub revocation is explained; twice is harmless', async () => {
    const s = await setup();
    const gh = fake.createGithubToken();
    s.writeTokens({ github_token: gh, oauth_app: 'vscode' });
    const proxy = startCli(['run'], s.env);
    try {
      await proxy.waitFor(/listening on/);
      const chat = await fetch(`http://127.0.0.1:${s.port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(chat.status, 200);
      const out = await s.cli(['logout']);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, new RegExp(`^✓ Signed out: the tokens were removed from ${esc(s.tokenFile)} \\(by the running proxy on http://127\\.0\\.0\\.1:${s.port} and this command\\)\\.$`, 'm'));
      assert.match(out.stdout, /https:\/\/github\.com\/settings\/applications/);
      assert.match(out.stdout, /revoke "Visual Studio Code"/);
      assertNoSecrets(out, gh);
      assert.equal(fs.existsSync(s.tokenFile), false);
      const health = healthBodySchema.parse(await (await fetch(`http://127.0.0.1:${s.port}/health`)).json());
      assert.equal(health.status, 'needs_auth');
      assert.equal(health.token.signed_in, false);
      const after = await fetch(`http://127.0.0.1:${s.port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(after.status, 401, 'no request is served with the forgotten token');
      const again = await s.cli(['logout']);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^Not signed in: no tokens in .*; nothing to remove\.$/m);
    } finally {
      proxy.child.kill('SIGTERM');
      await proxy.exited;
    }
    assert.ok(!proxy.output().includes(gh));
  });

  test('POST /admin/sign-out cancels a pending sign-in', async () => {
    const s = await setup();
    fake.deviceFlow.script = Array.from({ length: 400 }, () => 'authorization_pending' as const);
    fake.deviceFlow.interval = 1;
    const proxy = startCli(['run'], s.env);
    try {
      await proxy.waitFor(/listening on/);
      const started = await fetch(`http://127.0.0.1:${s.port}/admin/sign-in`, { method: 'POST' });
      assert.equal(started.status, 200);
      const out = tokenJsonSchema.parse(await (await fetch(`http://127.0.0.1:${s.port}/admin/sign-out`, { method: 'POST' })).json());
      assert.equal(out.sign_in, null);
      const health = healthBodySchema.parse(await (await fetch(`http://127.0.0.1:${s.port}/health`)).json());
      assert.equal(health.token.sign_in, null, 'the pending sign-in was cancelled');
    } finally {
      proxy.child.kill('SIGTERM');
      await proxy.exited;
    }
  });

  test('uninstall: --dry-run lists and changes nothing; it asks for --yes; it refuses while its proxy runs; then removes ours and keeps the rest', async () => {
    const xdg = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-xdg-'));
    cleanups.push(() => fs.rmSync(xdg, { recursive: true, force: true }));
    const s = await setup({ XDG_CONFIG_HOME: path.join(xdg, 'config'), XDG_CACHE_HOME: path.join(xdg, 'cache') });
    s.writeTokens({ github_token: fake.createGithubToken(), oauth_app: 'vscode' });
    fs.writeFileSync(s.configFile, JSON.stringify({ oauth_app: 'vscode' }));
    fs.mkdirSync(path.join(s.home, 'usage'));
    fs.writeFileSync(path.join(s.home, 'usage', '2026-12-01.jsonl'), '');
    fs.writeFileSync(path.join(s.home, 'github-copilot-svcs.log'), 'x\n');
    fs.writeFileSync(path.join(s.home, 'notes.txt'), 'mine');
    const cache = path.join(xdg, 'cache', 'github-copilot-svcs');
    fs.mkdirSync(path.join(cache, '0.1.0-abc'), { recursive: true });
    const en = await s.cli(['autostart', 'enable']);
    assert.equal(en.code, 0, en.stderr);
    const entry = path.join(xdg, 'config', 'autostart', 'github-copilot-svcs.desktop');
    assert.ok(fs.existsSync(entry));
    const before = fs.readdirSync(s.home).sort();

    const dry = await s.cli(['uninstall', '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`start at login: ${esc(entry)}`));
    assert.match(dry.stdout, /OS keychain entry \(service github-copilot-svcs, account tokens\)/);
    assert.match(dry.stdout, /config\.json, github-copilot-svcs\.log, tokens\.json, usage/);
    assert.match(dry.stdout, /kept there \(not ours\): notes\.txt/);
    assert.match(dry.stdout, new RegExp(`the cache dir: ${esc(cache)}`));
    assert.match(dry.stdout, /dry run: nothing was changed/);
    assert.match(dry.stdout, /settings\/applications/);
    assert.deepEqual(fs.readdirSync(s.home).sort(), before);
    assert.ok(fs.existsSync(entry) && fs.existsSync(cache));

    const unasked = await s.cli(['uninstall']);
    assert.equal(unasked.code, 2);
    assert.match(unasked.stderr, /Add --yes/);
    assert.deepEqual(fs.readdirSync(s.home).sort(), before);

    const proxy = startCli(['run'], s.env);
    try {
      await proxy.waitFor(/listening on/);
      const refused = await s.cli(['uninstall', '--yes']);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /proxy is running .* quit the tray .* first/);
      assert.ok(fs.existsSync(s.tokenFile));
    } finally {
      proxy.child.kill('SIGTERM');
      await proxy.exited;
    }

    const done = await s.cli(['uninstall', '--yes']);
    assert.equal(done.code, 0, done.stderr);
    assert.equal(fs.existsSync(entry), false, 'autostart entry removed');
    assert.equal(fs.existsSync(cache), false, 'cache dir removed');
    assert.deepEqual(fs.readdirSync(s.home), ['notes.txt'], "only the user's own file is left");
    assert.match(done.stdout, /removed the tokens/);
    assert.match(done.stdout, /npm uninstall -g github-copilot-svcs/);
  });
});

describe('usage records survive a kill', () => {
  test('kill -9 right after a burst loses no answered request\'s record', async () => {
    const s = await setup();
    s.writeTokens({ github_token: fake.createGithubToken(), oauth_app: 'vscode' });
    const proxy = startCli(['run'], s.env);
    try {
      await proxy.waitFor(/listening on/);
      const answered = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          fetch(`http://127.0.0.1:${s.port}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: `burst ${i}` }] }),
          }).then(async (r) => (await r.text(), r.status)),
        ),
      );
      assert.deepEqual(new Set(answered), new Set([200]));
    } finally {
      proxy.child.kill('SIGKILL');
      await proxy.exited;
    }
    const dir = path.join(s.home, 'usage');
    const lines = fs.readdirSync(dir).flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean));
    assert.equal(lines.length, 40, 'every answered request has its record on disk');
  });
});

describe('doctor', () => {
  const doctorJson = (r: CliResult) => doctorJsonSchema.parse(JSON.parse(r.stdout));
  const check = (r: CliResult, id: string) => {
    const c = doctorJson(r).checks.find((x) => x.id === id || x.id.startsWith(`${id}:`));
    assert.ok(c, `no ${id} check in ${r.stdout}`);
    return c;
  };

  test('healthy: every check passes with the proxy running (exit 0); the text has one line per check', async () => {
    const s = await setup();
    s.writeTokens({ github_token: fake.createGithubToken(), oauth_app: 'vscode' });
    const proxy = startCli(['run'], s.env);
    try {
      await proxy.waitFor(/listening on/);
      const r = await s.cli(['doctor']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^✅ Proxy: running on .*this data dir's$/m);
      assert.match(r.stdout, /^✅ Token: Token is healthy \(store/m);
      assert.match(r.stdout, /^✅ 127\.0\.0\.1:\d+: answers, direct \(no HTTP\(S\)_PROXY\)$/m);
      assert.match(r.stdout, /^✅ Clock: /m);
      assert.match(r.stdout, /^✅ Keychain: off \(GITHUB_COPILOT_SVCS_KEYCHAIN=off\); tokens in a 0600 file$/m, 'where the setting came from');
      assert.match(r.stdout, /^(All checks passed|All checks passed, \d warnings?)\.$/m);
      const j = await s.cli(['doctor', '--json']);
      assert.equal(doctorJson(j).ok, true);
    } finally {
      proxy.child.kill('SIGTERM');
      await proxy.exited;
    }
  });

  test('each injected fault is named with its fix: no proxy, another data dir\'s proxy, a rejected token, clock skew, a blocked upstream, a disabled model, a model not in the plan', async () => {
    const s = await setup();
    const gh = fake.createGithubToken();
    s.writeTokens({ github_token: gh, oauth_app: 'vscode' });

    const noProxy = await s.cli(['doctor', '--json']);
    assert.equal(check(noProxy, 'proxy').state, 'warn');
    assert.match(check(noProxy, 'proxy').fix ?? '', / run \(or the tray app\)$/);

    // Another data dir's proxy on our port.
    const other = await setup({ GITHUB_COPILOT_SVCS_PORT: String(s.port) });
    other.writeTokens({ github_token: fake.createGithubToken(), oauth_app: 'vscode' });
    const theirs = startCli(['run'], other.env);
    try {
      await theirs.waitFor(/listening on/);
      const r = await s.cli(['doctor', '--json']);
      assert.equal(r.code, 1);
      assert.equal(check(r, 'proxy').state, 'fail');
      assert.match(check(r, 'proxy').fix ?? '', /another data dir or user/);
    } finally {
      theirs.child.kill('SIGTERM');
      await theirs.exited;
    }

    // Clock skew: GitHub's Date says 10 minutes later.
    fake.dateSkewMs = 600_000;
    try {
      const r = await s.cli(['doctor', '--json']);
      assert.equal(check(r, 'clock').state, 'fail');
      assert.match(check(r, 'clock').text, /^Clock: (599|600|601) s behind GitHub$/);
      assert.match(check(r, 'clock').fix ?? '', /network time/);
    } finally {
      fake.dateSkewMs = 0;
    }

    // A blocked upstream: a proxy that is not there.
    const blocked = await runCli(['doctor', '--json'], { ...s.env, HTTP_PROXY: 'http://user:secret@127.0.0.1:9' });
    const refused = check(blocked, 'network');
    assert.equal(refused.state, 'fail');
    assert.match(refused.text, /no answer, through http:\/\/user:\*\*\*@127\.0\.0\.1:9/);
    assert.doesNotMatch(blocked.stdout, /secret/);
    assert.match(refused.fix ?? '', /^check HTTP_PROXY \(/, 'the variable that was used');

    // A proxy that takes the connection and never answers CONNECT: every host, and the token exchange, within doctor's 8 s.
    const held: net.Socket[] = [];
    const hole = net.createServer((c) => {
      held.push(c);
      c.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    try {
      const a = hole.address();
      assert.ok(a && typeof a === 'object');
      s.writeTokens({ github_token: gh, oauth_app: 'vscode' }); // no Copilot token: doctor asks GitHub for one
      const t0 = Date.now();
      const silent = await runCli(['doctor', '--json', '--model', 'gpt-4.1'], { ...s.env, HTTP_PROXY: `http://127.0.0.1:${a.port}` });
      const took = Date.now() - t0;
      assert.ok(took < 15_000, `doctor took ${took} ms`);
      assert.ok(held.length >= 1, 'the requests went to that proxy');
      const netChecks = doctorJson(silent).checks.filter((c) => c.id.startsWith('network:'));
      assert.ok(netChecks.length >= 1);
      for (const c of netChecks) {
        assert.equal(c.state, 'fail');
        assert.match(c.text, /no answer within 8 s/);
      }
      assert.equal(check(silent, 'token').state, 'warn');
      assert.match(check(silent, 'token').fix ?? '', /did not answer the token exchange within 8 s/);
      assert.equal(check(silent, 'model').state, 'skip');
      assert.match(check(silent, 'model').text, /without a Copilot token/);

      // refresh through it: tried once (no 2 + 8 + 18 s of retry waits), within dial_timeout + tls_handshake, naming the proxy.
      fs.writeFileSync(s.configFile, JSON.stringify({ timeouts: { dial_timeout: 1, tls_handshake: 1 } }), { mode: 0o600 });
      const r0 = Date.now();
      const refreshed = await runCli(['refresh'], { ...s.env, HTTP_PROXY: `http://127.0.0.1:${a.port}` });
      const refreshTook = Date.now() - r0;
      fs.rmSync(s.configFile);
      assert.equal(refreshed.code, 1, refreshed.stderr);
      assert.ok(refreshTook < 8000, `refresh took ${refreshTook} ms`);
      assert.match(refreshed.stderr, /Refresh failed: .*did not answer/);
      assert.match(refreshed.stderr, new RegExp(`through http://127\\.0\\.0\\.1:${a.port} \\(HTTP_PROXY\\): check HTTP_PROXY \\(is that proxy up`));
      assert.doesNotMatch(refreshed.stderr, /trying again in 60 s/, 'a one-shot command does not promise a retry');
    } finally {
      for (const c of held) c.destroy();
      await new Promise<void>((resolve) => hole.close(() => resolve()));
    }

    // GitHub answers the exchange 503 once: doctor tries once (a retry would have succeeded), with no
    // retry waits, and the token line says why.
    s.writeTokens({ github_token: gh, oauth_app: 'vscode' });
    fake.failNext(1, { status: 503, body: 'unavailable', path: '/copilot_internal/v2/token' });
    const t503 = Date.now();
    const unavailable = await runCli(['doctor', '--json'], s.env);
    assert.ok(Date.now() - t503 < 5000, 'no retry waits');
    assert.equal(check(unavailable, 'token').state, 'warn');
    assert.match(check(unavailable, 'token').fix ?? '', /last error: .*503/);
    fake.clearInjections();

    // A model disabled by policy, and one the plan does not list.
    const model = fake.models.find((m) => m.id === 'gpt-4.1');
    assert.ok(model);
    const policy = model.policy;
    model.policy = { state: 'disabled', terms: 'x' };
    try {
      const r = await s.cli(['doctor', '--json', '--model', 'gpt-4.1']);
      assert.equal(check(r, 'model').state, 'fail');
      assert.match(check(r, 'model').text, /disabled by policy/);
      assert.match(check(r, 'model').fix ?? '', /\/settings\/copilot\/features/);
    } finally {
      model.policy = policy;
    }
    const missing = await s.cli(['doctor', '--json', '--model', 'gpt-4.2']);
    assert.equal(check(missing, 'model').state, 'fail');
    assert.match(check(missing, 'model').fix ?? '', /did you mean "gpt-4\.1"\?/);
    const notAName = await s.cli(['doctor', '--json', '--model', 'bad name!']);
    assert.deepEqual([check(notAName, 'model').state, check(notAName, 'model').text], ['fail', 'Model "bad name!": not a model name']);
    assert.match(check(notAName, 'model').fix ?? '', /^model must be 1 to 256 characters/);
    const codex = await s.cli(['doctor', '--json', '--model', 'gpt-5.1-codex']);
    assert.equal(check(codex, 'model').state, 'ok');
    assert.match(check(codex, 'model').text, /\/responses only; this proxy translates/);

    // An expired Copilot token whose GitHub token GitHub now rejects: the token line fails, with the command to run.
    fake.revokeGithubToken(gh);
    s.writeTokens({ github_token: gh, oauth_app: 'vscode', copilot_token: 'tid=old;exp=1', expires_at: nowSec() - 60, refresh_in: 1500, obtained_at: nowSec() - 1860 });
    const rejected = await s.cli(['doctor']);
    assert.equal(rejected.code, 1);
    assert.match(rejected.stdout, /^❌ Token: (Token needs refresh|Not signed in) \(store/m);
    assert.match(rejected.stdout, /^ {3}fix: run 'node .* auth'/m);
    assertNoSecrets(rejected, gh);
  });
});

describe('setup <client>', () => {
  test('signed out: setup env says why the model list failed (not signed in), not that the model is missing', async () => {
    const s = await setup();
    fake.deviceFlow.script = ['access_denied']; // run's own sign-in is refused: it stays signed out
    const proxy = startCli(['run'], s.env);
    try {
      await proxy.waitFor(/listening on/);
      await proxy.waitFor(/denied/i);
      const r = await runCli(['setup', 'env'], s.env);
      assert.equal(r.code, 1, 'a route that does not work yet is exit 1');
      assert.match(r.stdout, /^export OPENAI_BASE_URL=/m, 'the exports are printed all the same');
      assert.match(r.stderr, /^❌ GET \/v1\/models failed: Not signed in to GitHub Copilot\. Run `.*auth`/m);
      assert.doesNotMatch(r.stderr, /is not in the proxy's \/v1\/models/);
      const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-setup-home-'));
      cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
      const oc = await runCli(['setup', 'opencode'], { ...s.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config') });
      assert.equal(oc.code, 1, oc.stderr);
      assert.match(oc.stdout, /^Wrote .*opencode\.json/m);
      assert.match(oc.stdout, /^Model: \S+ \(the proxy could not list the models: the default name\)\. Run: /m);
      assert.match(oc.stdout, /^❌ GET \/v1\/models failed: Not signed in/m);
    } finally {
      fake.deviceFlow.script = [];
      proxy.child.kill('SIGTERM');
      await proxy.exited;
    }
  });

  test('claude-code, codex, opencode: written where each reads it, merged, backed up; a second run changes nothing; --dry-run shows a diff; --undo restores the original byte for byte; the route is checked', async () => {
    const s = await setup();
    s.writeTokens({ github_token: fake.createGithubToken(), oauth_app: 'vscode' });
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-setup-home-'));
    cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
    const env = { ...s.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config') };
    const claudeFile = path.join(home, '.claude', 'settings.json');
    fs.mkdirSync(path.dirname(claudeFile), { recursive: true });
    const original = '{\n  "theme": "dark",\n  "env": { "FOO": "1" }\n}\n';
    fs.writeFileSync(claudeFile, original);
    const proxy = startCli(['run'], env);
    try {
      await proxy.waitFor(/listening on/);
      const dry = await runCli(['setup', 'claude-code', '--dry-run'], env);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /^\+\s+"ANTHROPIC_BASE_URL": "http:\/\/localhost:\d+",?$/m);
      assert.match(dry.stdout, /dry run: nothing was written/);
      assert.equal(fs.readFileSync(claudeFile, 'utf8'), original);

      const first = await runCli(['setup', 'claude-code'], env);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, /backup: .*settings\.json\.gcs-backup-/);
      assert.match(first.stdout, /^✅ POST \/v1\/messages\/count_tokens answers for claude-sonnet-/m);
      const written: unknown = JSON.parse(fs.readFileSync(claudeFile, 'utf8'));
      assert.ok(typeof written === 'object' && written !== null && 'theme' in written && 'env' in written);
      assert.equal(written.theme, 'dark');
      assert.deepEqual(Object.keys(written.env as object).sort(), ['ANTHROPIC_AUTH_TOKEN', 'ANTHROPIC_BASE_URL', 'ANTHROPIC_MODEL', 'FOO']);
      const again = await runCli(['setup', 'claude-code'], env);
      assert.match(again.stdout, /nothing changed/);
      assert.equal(fs.readdirSync(path.dirname(claudeFile)).filter((f) => f.includes('gcs-backup')).length, 1, 'no second backup');

      const codex = await runCli(['setup', 'codex'], env);
      assert.equal(codex.code, 0, codex.stderr);
      assert.match(fs.readFileSync(path.join(home, '.codex', 'config.toml'), 'utf8'), /\[model_providers\.copilot_proxy\]/);
      assert.match(fs.readFileSync(path.join(home, '.codex', 'copilot.config.toml'), 'utf8'), /^model = "gpt-5[.\d]*-codex"$/m);
      assert.match(codex.stdout, /^✅ GET \/v1\/models lists gpt-5/m);
      const oc = await runCli(['setup', 'opencode', '--model', 'gpt-4.1'], env);
      assert.equal(oc.code, 0, oc.stderr);
      assert.match(fs.readFileSync(path.join(home, '.config', 'opencode', 'opencode.json'), 'utf8'), /"model": "copilot-proxy\/gpt-4\.1"/);
      const bad = await runCli(['setup', 'opencode', '--model', 'no-such-model'], env);
      assert.equal(bad.code, 2);

      // doctor checks each client setup configured: still pointing here, or not.
      const doc = doctorJsonSchema.parse(JSON.parse((await runCli(['doctor', '--json'], env)).stdout));
      assert.deepEqual(doc.checks.filter((c) => c.id.startsWith('client:')).map((c) => [c.id, c.state]), [['client:claude-code', 'ok'], ['client:codex', 'ok'], ['client:opencode', 'ok']]);
      const opencodeFile = path.join(home, '.config', 'opencode', 'opencode.json');
      const ocText = fs.readFileSync(opencodeFile, 'utf8');
      fs.writeFileSync(opencodeFile, ocText.replaceAll(`localhost:${s.port}`, 'localhost:9999'));
      const moved = doctorJsonSchema.parse(JSON.parse((await runCli(['doctor', '--json'], env)).stdout));
      const ocCheck = moved.checks.find((c) => c.id === 'client:opencode');
      assert.equal(ocCheck?.state, 'fail');
      assert.match(ocCheck?.fix ?? '', /setup opencode' again$/);
      fs.writeFileSync(opencodeFile, ocText);

      const envOut = await runCli(['setup', 'env'], env);
      assert.match(envOut.stdout, new RegExp(`^export OPENAI_BASE_URL=http://localhost:${s.port}/v1$`, 'm'));

      // Undo: the original bytes, the backup gone; a file setup created is removed.
      const undo = await runCli(['setup', 'claude-code', '--undo'], env);
      assert.equal(undo.code, 0, undo.stderr);
      assert.equal(fs.readFileSync(claudeFile, 'utf8'), original);
      assert.equal(fs.readdirSync(path.dirname(claudeFile)).filter((f) => f.includes('gcs-backup')).length, 0);
      await runCli(['setup', 'codex', '--undo'], env);
      assert.equal(fs.existsSync(path.join(home, '.codex', 'config.toml')), false);
      assert.equal(fs.existsSync(path.join(home, '.codex', 'copilot.config.toml')), false);
      const none = await runCli(['setup', 'codex', '--undo'], env);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /Nothing to undo/);
    } finally {
      proxy.child.kill('SIGTERM');
      await proxy.exited;
    }
  });
});
