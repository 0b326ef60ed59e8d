import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { statusJsonSchema } from '../../src/cli/status.ts';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/index.ts';
import { runCli, startCli } from '../helpers/cli.ts';
import { fakeEnv, suiteHomes } from '../helpers/harness.ts';

/**
 * config.json files exactly as the Go tool writes them (see
 * test/fixtures/go-config/README.md): every field present, empty ones
 * included, compact or pretty, 0600 or 0644. Each must migrate its token into
 * the token store, keep every other key, report the right status and serve.
 */

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/go-config');
const TOKEN_KEYS = ['github_token', 'copilot_token', 'expires_at', 'refresh_in'];

describe("a Go-tool config.json as the Go tool wrote it", () => {
  let fake: FakeUpstream;
  const home = suiteHomes();
  before(async () => {
    fake = await startFakeUpstream();
  });
  after(async () => {
    await fake.close();
  });

  const files = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 3);

  for (const file of files) {
    for (const mode of [0o600, 0o644]) {
      test(`${file} (${mode.toString(8)}): migrates, keeps every other key, status says signed in`, async () => {
        const dir = home();
        const github = fake.createGithubToken();
        const copilot = fake.mintCopilotToken({ githubToken: github });
        const text = fs
          .readFileSync(path.join(FIXTURES, file), 'utf8')
          .replace('@GITHUB_TOKEN@', github)
          .replace('@COPILOT_TOKEN@', copilot.token)
          .replace('@EXPIRES_AT@', String(copilot.expiresAt));
        const configFile = path.join(dir, 'config.json');
        fs.writeFileSync(configFile, text, { mode });
        fs.chmodSync(configFile, mode);
        const original = JSON.parse(text) as Record<string, unknown>;

        const env = { ...fakeEnv(fake, dir), GITHUB_COPILOT_SVCS_PORT: '1' };
        const r = await runCli(['status'], env);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^Authentication: ✓ Authenticated$/m);
        assert.match(r.stdout, /^Status: (✅ Token is healthy|❌ Token needs refresh)$/m);
        assert.match(r.stdout, /^Token store: file /m);
        assert.ok(!r.stdout.includes(github) && !r.stderr.includes(github), 'no token in the output');

        // The token went to the store; config.json lost the token keys and kept every other key as it was.
        const stored = JSON.parse(fs.readFileSync(path.join(dir, 'tokens.json'), 'utf8')) as Record<string, unknown>;
        assert.equal(stored.github_token, github);
        assert.equal(stored.copilot_token, original.copilot_token === '' ? undefined : copilot.token);
        const after = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
        assert.deepEqual(Object.keys(after).sort(), Object.keys(original).filter((k) => !TOKEN_KEYS.includes(k)).sort());
        for (const k of Object.keys(after)) assert.deepEqual(after[k], original[k], `${k} kept as it was`);
        assert.equal(fs.statSync(configFile).mode & 0o777, 0o600);

        const j = statusJsonSchema.parse(JSON.parse((await runCli(['status', '--json'], env)).stdout));
        assert.equal(j.token.signed_in, true);
        assert.equal(j.token.store, 'file');
      });
    }
  }

  test('after-failed-exchange.compact.json serves: run exchanges a Copilot token and answers the OpenAI SDK', async () => {
    const dir = home();
    const github = fake.createGithubToken();
    const text = fs.readFileSync(path.join(FIXTURES, 'after-failed-exchange.compact.json'), 'utf8').replace('@GITHUB_TOKEN@', github);
    fs.writeFileSync(path.join(dir, 'config.json'), text, { mode: 0o644 });
    const proc = startCli(['run', '--port', '0'], fakeEnv(fake, dir));
    try {
      const [, url] = await proc.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)\/v1/);
      assert.match(proc.output(), /cors\.allowed_origins "\*" \(the Go tool's default\) is ignored/);
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'dummy', maxRetries: 0 });
      const r = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'from go' }] });
      assert.equal(r.choices[0]?.message.content, 'Echo: from go');
      // The Go tool's editor identity block reached Copilot.
      assert.equal(fake.last('/chat/completions')?.headers['editor-version'], 'vscode/1.102.3');
    } finally {
      proc.child.kill('SIGKILL');
    }
  });

  test('signed-in.compact.json: allowed_models filters /v1/models', async () => {
    const dir = home();
    const github = fake.createGithubToken();
    const copilot = fake.mintCopilotToken({ githubToken: github });
    const text = fs
      .readFileSync(path.join(FIXTURES, 'signed-in.compact.json'), 'utf8')
      .replace('@GITHUB_TOKEN@', github)
      .replace('@COPILOT_TOKEN@', copilot.token)
      .replace('@EXPIRES_AT@', String(copilot.expiresAt));
    fs.writeFileSync(path.join(dir, 'config.json'), text, { mode: 0o600 });
    // The Go tool kept no API base with its Copilot token: the default (or this override) is used until the next exchange.
    const proc = startCli(['run', '--port', '0'], { ...fakeEnv(fake, dir), GITHUB_COPILOT_SVCS_COPILOT_API_URL: fake.url });
    try {
      const [, url] = await proc.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)\/v1/);
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'dummy', maxRetries: 0 });
      const ids = (await client.models.list()).data.map((m) => m.id).sort();
      assert.deepEqual(ids, ['claude-sonnet-4', 'gpt-4.1']);
    } finally {
      proc.child.kill('SIGKILL');
    }
  });
});
