import assert from 'node:assert/strict';
import { execFileSync, fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/index.ts';
import { BIN, runCli, startCli } from '../helpers/cli.ts';
import { fakeEnv, suiteHomes } from '../helpers/harness.ts';

describe('github-copilot-svcs run (real process)', () => {
  let fake: FakeUpstream;
  const home = suiteHomes();
  before(async () => {
    fake = await startFakeUpstream();
  });
  after(async () => {
    await fake.close();
  });

  test('SIGTERM with a stream in flight: stops accepting, finishes the stream, exits 0; the log file (started from /) holds the request', async () => {
    const dataDir = home();
    const env = { ...fakeEnv(fake, dataDir, fake.createGithubToken()), GITHUB_COPILOT_SVCS_PORT: '0' };
    const proc = startCli(['run'], env);
    try {
      const [, url] = await proc.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)\/v1/);
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'dummy', maxRetries: 0 });
      fake.chunkDelayMs = 100;
      const words = 'alpha beta gamma delta epsilon zeta eta theta iota kappa';
      const stream = await client.chat.completions.create({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: words }] });
      let text = '';
      let signalled = false;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        if (!signalled && text.length > 0) {
          signalled = true;
          proc.child.kill('SIGTERM');
          await proc.waitFor(/SIGTERM: stopping/);
          // New connections are refused while the stream finishes.
          await assert.rejects(fetch(`${url}/health`));
        }
      }
      assert.equal(text, `Echo: ${words}`);
      const { code } = await proc.exited;
      assert.equal(code, 0);
      // Started from / (no package.json above it): electron-log must still write the file.
      const logText = fs.readFileSync(path.join(dataDir, 'github-copilot-svcs.log'), 'utf8');
      assert.match(logText, /\[info\]\s+\[proxy\] request method=POST route=\/v1\/chat\/completions .*status=200/);
      assert.doesNotMatch(proc.output(), /electron-log|can't determine the app name/);
    } finally {
      fake.chunkDelayMs = 5;
      proc.child.kill('SIGKILL');
    }
  });

  test('it listens with a backlog of 4096 (what Go asks for); Node\'s default of 511 dropped the SYNs of a burst, each then waiting a second', async () => {
    const env = { ...fakeEnv(fake, home(), fake.createGithubToken()), GITHUB_COPILOT_SVCS_PORT: '0' };
    const proc = startCli(['run'], env);
    try {
      const [, port] = await proc.waitFor(/listening on http:\/\/127\.0\.0\.1:(\d+)\/v1/);
      // ss: a listening socket's Send-Q is its backlog, as the kernel capped it (net.core.somaxconn).
      const line = execFileSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' }).trim();
      const somaxconn = Number(fs.readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
      assert.ok(somaxconn > 511, `net.core.somaxconn is ${somaxconn}: the kernel caps any backlog there, so this check cannot tell 4096 from Node's 511`);
      assert.equal(Number(line.split(/\s+/)[2]), Math.min(4096, somaxconn), line);
    } finally {
      proc.child.kill('SIGKILL');
    }
  });

  test('a bad config.json stops start-up with one line per bad key (and a warning per unknown one); the file is untouched', async () => {
    const h = home();
    const file = path.join(h, 'config.json');
    const text = JSON.stringify({ port: 'eighty', log_level: 'loud', timeouts: { server_read: -5 }, prot: 1 });
    fs.writeFileSync(file, text);
    const r = await runCli(['run'], { GITHUB_COPILOT_SVCS_HOME: h });
    assert.equal(r.code, 2);
    const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('config error:'));
    assert.equal(lines.length, 3, r.stderr);
    assert.ok(lines.every((l) => l.includes(file)));
    assert.ok(lines.some((l) => l.includes('port: must be a number (got "eighty")')));
    assert.ok(lines.some((l) => l.includes('log_level: must be one of "error", "warn", "info", "debug"')));
    assert.ok(lines.some((l) => l.includes('timeouts.server_read: must be > 0 (got -5)')));
    // A misspelt key is said beside them, as what it is: a warning.
    assert.match(r.stderr, /^config warning: .*unknown key "prot" ignored \(did you mean "port"\?\)$/m);
    assert.equal(fs.readFileSync(file, 'utf8'), text);
  });

  test('a bad flag or env value is a usage error (exit 2) naming it', async () => {
    const h = home();
    const flag = await runCli(['run', '--port', 'abc'], { GITHUB_COPILOT_SVCS_HOME: h });
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /--port must be a whole number/);
    const env = await runCli(['run'], { GITHUB_COPILOT_SVCS_HOME: h, GITHUB_COPILOT_SVCS_OAUTH_APP: 'emacs' });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /GITHUB_COPILOT_SVCS_OAUTH_APP: must be one of "vscode", "opencode"/);
  });

  test('port already taken: a clear message and exit 1', async () => {
    const env = { ...fakeEnv(fake, home(), fake.createGithubToken()), GITHUB_COPILOT_SVCS_PORT: String(fake.port) };
    const r = await runCli(['run', '--host', '127.0.0.1'], env);
    assert.equal(r.code, 1);
    // The fake answers /health with a 404: that program is named by what it did.
    assert.match(r.stderr, new RegExp(`Port ${fake.port} on 127\\.0\\.0\\.1 is already in use by another program \\(it answered HTTP 404 to /health\\)\\. Stop that program`));
  });

  test('port taken by one of ours: it says whose (this data dir\'s, already running; or another data dir\'s)', async () => {
    const mine = home();
    const port = String(30000 + Math.floor(Math.random() * 20000));
    const env = { ...fakeEnv(fake, mine, fake.createGithubToken()), GITHUB_COPILOT_SVCS_PORT: port };
    const first = startCli(['run'], env);
    try {
      await first.waitFor(/listening on/);
      const again = await runCli(['run'], env);
      assert.equal(again.code, 1);
      assert.match(again.stderr, new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is already in use by this data dir's own github-copilot-svcs proxy \\(version [^)]+\\): it is already running`));
      const other = await runCli(['run'], { ...env, GITHUB_COPILOT_SVCS_HOME: home() });
      assert.equal(other.code, 1);
      assert.match(other.stderr, /already in use by another github-copilot-svcs proxy \(version [^,]+, of another data dir or user\)/);
    } finally {
      first.child.kill('SIGTERM');
      await first.exited;
    }
  });
});

describe('the proxy child when its tray dies', () => {
  const home = suiteHomes();

  test('stdout, stderr and the IPC channel all gone: it exits within 2 s, and a closed pipe never turns into a storm of log lines', async () => {
    const dataDir = home();
    const child = fork(BIN, ['__proxy-child', '--port', '0'], {
      execArgv: [],
      cwd: '/',
      env: { PATH: process.env.PATH, GITHUB_COPILOT_SVCS_HOME: dataDir, GITHUB_COPILOT_SVCS_KEYCHAIN: 'off', GITHUB_COPILOT_SVCS_GITHUB_TOKEN: 'gho_tray_died_test', GITHUB_COPILOT_SVCS_GITHUB_API_URL: 'http://127.0.0.1:9' },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no ready message')), 10_000);
        child.on('message', (m: unknown) => {
          if (typeof m === 'object' && m !== null && 'type' in m && m.type === 'ready') {
            clearTimeout(t);
            resolve();
          }
        });
      });
      // What a tray that is SIGKILLed leaves behind: its ends of the pipes closed.
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.disconnect();
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 2000))]);
      assert.notEqual(code, 'timeout', 'the child exited');
      const lines = fs.readFileSync(path.join(dataDir, 'github-copilot-svcs.log'), 'utf8').split('\n').filter(Boolean);
      assert.ok(lines.length < 20, `a handful of log lines, not a storm (${lines.length})`);
      assert.ok(!lines.some((l) => /EPIPE/.test(l)), 'no EPIPE reported');
      assert.ok(lines.some((l) => /proxy child stopping \(tray went away\)/.test(l)));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
