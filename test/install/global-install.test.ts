import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/index.ts';

/**
 * What a user gets from `npm pack` + `npm install -g <tarball>`: the packed
 * package installed into a temp prefix (dependencies from the npm registry),
 * run from `/` with a clean HOME. No TypeScript, no repo around it.
 */

const root = path.resolve(import.meta.dirname, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-global-'));
const prefix = path.join(tmp, 'prefix');
const bin = path.join(prefix, 'bin', 'github-copilot-svcs');

function cleanEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // Only node on PATH (for the bin's #!/usr/bin/env node) and the global prefix's bin, as after npm install -g; nothing from the repo.
  // Port 9 (discard): nothing of ours listens there; npm test holds 8081 and fails a run that reaches it.
  return { PATH: `${path.join(prefix, 'bin')}:${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: home, GITHUB_COPILOT_SVCS_KEYCHAIN: 'off', GITHUB_COPILOT_SVCS_PORT: '9', ...extra };
}

describe('the packed tarball, installed globally, run from /', () => {
  let fake: FakeUpstream;
  before(async () => {
    fake = await startFakeUpstream();
    const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp], { cwd: root, encoding: 'utf8' }).trim().split('\n').at(-1) ?? '';
    execFileSync('npm', ['install', '-g', '--prefix', prefix, path.join(tmp, packed), '--no-audit', '--no-fund', '--loglevel=error'], { cwd: tmp, stdio: 'inherit', timeout: 300_000 });
  });
  after(async () => {
    await fake.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('the package holds the built dist/ and no TypeScript', () => {
    const pkgDir = path.join(prefix, 'lib', 'node_modules', 'github-copilot-svcs');
    assert.ok(fs.existsSync(path.join(pkgDir, 'dist', 'github-copilot-svcs.mjs')));
    assert.ok(!fs.existsSync(path.join(pkgDir, 'src')), 'no sources shipped');
    assert.ok(!fs.existsSync(path.join(pkgDir, 'node_modules', 'tsx')), 'tsx is not a runtime dependency');
  });

  test('version and status from /', () => {
    const home = fs.mkdtempSync(path.join(tmp, 'home-'));
    const v = execFileSync(bin, ['version'], { cwd: '/', env: cleanEnv(home), encoding: 'utf8' });
    assert.match(v, /^github-copilot-svcs \d+\.\d+\.\d+ \(commit [0-9a-f]{7,}, built \d{4}-\d{2}-\d{2}; node v\d+\.\d+\.\d+, linux-x64\)\n$/);
    const s = execFileSync(bin, ['status'], { cwd: '/', env: cleanEnv(home), encoding: 'utf8' });
    assert.match(s, /^Status: ❌ Not signed in — run 'github-copilot-svcs auth'$/m);
  });

  test('run from / serves the OpenAI SDK and writes its log file', async () => {
    const home = fs.mkdtempSync(path.join(tmp, 'home-'));
    const env = cleanEnv(home, {
      GITHUB_COPILOT_SVCS_GITHUB_URL: fake.url,
      GITHUB_COPILOT_SVCS_GITHUB_API_URL: fake.url,
      GITHUB_COPILOT_SVCS_GITHUB_TOKEN: fake.createGithubToken(),
    });
    const child = spawn(bin, ['run', '--port', '0'], { cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no listening line:\n${out}`)), 20_000);
        child.stderr.on('data', () => {
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(out);
          if (m?.[1]) {
            clearTimeout(t);
            resolve(m[1]);
          }
        });
      });
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'dummy', maxRetries: 0 });
      const r = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'installed' }] });
      assert.equal(r.choices[0]?.message.content, 'Echo: installed');
      // The dashboard comes from the installed package's dist/dashboard/.
      const page = await fetch(`${url}/`);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<script type="module" src="\/dashboard\/dashboard.js">/);
      assert.equal((await fetch(`${url}/dashboard/dashboard.js`)).status, 200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    const log = fs.readFileSync(path.join(home, '.local', 'share', 'github-copilot-svcs', 'github-copilot-svcs.log'), 'utf8');
    assert.match(log, /request method=POST route=\/v1\/chat\/completions .*status=200/);
  });
});
