import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { writeFileAtomic, type AtomicWriteOps } from '../../src/auth/config-file.ts';
import { loadConfig } from '../../src/config/load.ts';
import { removeStaleTempFiles, repairDataDirPermissions, requiredMode } from '../../src/config/permissions.ts';
import { createLogger } from '../../src/log.ts';
import { startRuntime } from '../../src/proxy/run.ts';
import { startFakeUpstream } from '../fake-upstream/index.ts';
import { runCli } from '../helpers/cli.ts';
import { fakeEnv, suiteHomes } from '../helpers/harness.ts';

const mode = (p: string) => fs.statSync(p).mode & 0o777;

describe('data dir 0700, files 0600', { skip: process.platform === 'win32' ? 'no POSIX modes on Windows' : false }, () => {
  const newHome = suiteHomes();

  test('start-up repairs a loosened dir and files, with a warning naming each', async () => {
    const fake = await startFakeUpstream();
    const home = newHome();
    const cfg = path.join(home, 'config.json');
    fs.writeFileSync(cfg, JSON.stringify({ port: 0, log_level: 'warn' }));
    const tokens = path.join(home, 'tokens.json');
    fs.writeFileSync(tokens, '{}');
    fs.mkdirSync(path.join(home, 'sub'));
    fs.writeFileSync(path.join(home, 'sub', 'x'), 'x');
    fs.chmodSync(cfg, 0o644);
    fs.chmodSync(tokens, 0o666);
    fs.chmodSync(path.join(home, 'sub'), 0o755);
    fs.chmodSync(path.join(home, 'sub', 'x'), 0o640);
    fs.chmodSync(home, 0o755);
    // A symlink pointing outside is never followed.
    const outside = path.join(newHome(), 'outside');
    fs.writeFileSync(outside, 'o', { mode: 0o644 });
    fs.symlinkSync(outside, path.join(home, 'link'));

    const env = fakeEnv(fake, home, fake.createGithubToken());
    const config = loadConfig({ env });
    const log = createLogger({ level: config.log_level, file: config.paths.logFile, console: false });
    const rt = await startRuntime({ config, log, autoSignIn: false, env });
    try {
      assert.equal(mode(home), 0o700);
      assert.equal(mode(cfg), 0o600);
      assert.equal(mode(tokens), 0o600);
      assert.equal(mode(path.join(home, 'sub')), 0o700);
      assert.equal(mode(path.join(home, 'sub', 'x')), 0o600);
      assert.equal(mode(outside), 0o644, 'the symlink target is left alone');
      assert.equal(mode(config.paths.logFile), 0o600);
      const text = fs.readFileSync(config.paths.logFile, 'utf8');
      for (const p of [home, cfg, tokens]) assert.ok(text.includes(`permissions: ${p} had mode`), `warning for ${p}`);
      assert.match(text, /config\.json had mode 0644, readable by other users; changed to 0600/);
    } finally {
      await rt.shutdown(1000);
      await fake.close();
    }
    // A second start on a tidy dir: nothing to repair.
    assert.deepEqual(repairDataDirPermissions(home), []);
  });

  test('pure rule', () => {
    assert.equal(requiredMode('dir', 0o40700), undefined);
    assert.equal(requiredMode('dir', 0o40750), 0o700);
    assert.equal(requiredMode('file', 0o100600), undefined);
    assert.equal(requiredMode('file', 0o100400), undefined);
    assert.equal(requiredMode('file', 0o100644), 0o600);
  });
});

describe('config written atomically', () => {
  const newHome = suiteHomes();

  test('a writer killed mid-rewrite (SIGKILL) never leaves a half config.json; its temp file is swept on start', async () => {
    const home = newHome();
    const file = path.join(home, 'config.json');
    writeFileAtomic(file, `${JSON.stringify({ version: 0, pad: '' })}\n`);
    // A child rewrites the file as fast as it can, with ~1 MB bodies so a kill lands mid-write.
    const script = `
      import { writeFileAtomic } from ${JSON.stringify(path.resolve('src/auth/config-file.ts'))};
      const file = process.env.TARGET_FILE;
      for (let i = 1; ; i++) {
        writeFileAtomic(file, JSON.stringify({ version: i, pad: 'p'.repeat(1_000_000 + i) }) + '\\n');
        if (i === 3) process.stdout.write('going\\n');
      }`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, TARGET_FILE: file },
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
    });
    await new Promise((r) => setTimeout(r, 30));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { version: number; pad: string };
    assert.ok(parsed.version >= 3, `a complete version (${parsed.version})`);
    assert.equal(parsed.pad.length, 1_000_000 + parsed.version, 'whole, not truncated');
    assert.equal(mode(file) & 0o077, 0, 'still private');
    // The kill may leave the writer's temp file: the next start removes it (its pid is gone).
    removeStaleTempFiles(home);
    assert.deepEqual(fs.readdirSync(home).filter((n) => n.endsWith('.tmp')), []);
  });

  test('a temp file of a live writer is left alone', () => {
    const home = newHome();
    const live = path.join(home, `.config.json.${process.pid}.0badc0de.tmp`);
    fs.writeFileSync(live, 'x');
    const other = path.join(home, '.config.json.4242.deadbeef.tmp');
    fs.writeFileSync(other, 'x');
    assert.deepEqual(removeStaleTempFiles(home, (pid) => pid === 4242), []);
    assert.deepEqual(removeStaleTempFiles(home, () => false), ['.config.json.4242.deadbeef.tmp']);
    assert.ok(fs.existsSync(live));
  });
});

describe('symlinks, failed writes, header values', () => {
  const newHome = suiteHomes();

  test('a failed write (full disk) leaves no temp file behind, and the old file as it was', () => {
    const home = newHome();
    const file = path.join(home, 'tokens.json');
    writeFileAtomic(file, 'old\n');
    for (const step of ['writeFileSync', 'fsyncSync', 'renameSync'] as const) {
      const failing: AtomicWriteOps = {
        ...fs,
        [step]: () => {
          throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        },
      };
      assert.throws(() => writeFileAtomic(file, 'new\n', failing), /ENOSPC/);
      assert.deepEqual(fs.readdirSync(home).filter((n) => n.endsWith('.tmp')), [], `no temp file after ${step} failed`);
      assert.equal(fs.readFileSync(file, 'utf8'), 'old\n');
    }
  });

  test('a symlinked config.json is refused (exit 2 naming link and target); the target keeps its token and nothing changes', async () => {
    const home = newHome();
    const elsewhere = path.join(newHome(), 'real-config.json');
    const text = JSON.stringify({ port: 8081, github_token: 'gho_symlinkedtoken00000000000000', copilot_token: '' });
    fs.writeFileSync(elsewhere, text, { mode: 0o644 });
    const link = path.join(home, 'config.json');
    fs.symlinkSync(elsewhere, link);
    const r = await runCli(['status'], { GITHUB_COPILOT_SVCS_HOME: home, GITHUB_COPILOT_SVCS_KEYCHAIN: 'off', GITHUB_COPILOT_SVCS_PORT: '9' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`config error: ${escape(link)} is a symbolic link to ${escape(elsewhere)}; refusing to follow it`));
    assert.ok(fs.lstatSync(link).isSymbolicLink(), 'the link is still a link');
    assert.equal(fs.readFileSync(elsewhere, 'utf8'), text, 'the target is untouched');
    assert.ok(!fs.existsSync(path.join(home, 'tokens.json')), 'nothing was migrated');
    assert.doesNotMatch(r.stderr, /gho_symlinked/);
  });

  test('a symlinked token file is refused the same way', async () => {
    const home = newHome();
    const elsewhere = path.join(newHome(), 'tokens.json');
    fs.writeFileSync(elsewhere, JSON.stringify({ github_token: 'gho_linkedtokenfile0000000000000', oauth_app: 'vscode' }), { mode: 0o600 });
    fs.symlinkSync(elsewhere, path.join(home, 'tokens.json'));
    const r = await runCli(['status'], { GITHUB_COPILOT_SVCS_HOME: home, GITHUB_COPILOT_SVCS_KEYCHAIN: 'off', GITHUB_COPILOT_SVCS_PORT: '9' });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /tokens\.json is a symbolic link to .*; refusing to follow it/);
  });

  test('a symlinked data dir is resolved once: the real dir is used, checked and tightened', async () => {
    const real = newHome();
    fs.chmodSync(real, 0o755);
    fs.writeFileSync(path.join(real, 'config.json'), JSON.stringify({ port: 0 }), { mode: 0o644 });
    fs.chmodSync(path.join(real, 'config.json'), 0o644);
    const link = path.join(newHome(), 'data-link');
    fs.symlinkSync(real, link);
    const config = loadConfig({ env: { GITHUB_COPILOT_SVCS_HOME: link } });
    assert.equal(config.paths.dataDir, fs.realpathSync(real));
    assert.equal(config.paths.configFile, path.join(fs.realpathSync(real), 'config.json'));
    const repairs = repairDataDirPermissions(config.paths.dataDir).map((x) => x.path);
    assert.ok(repairs.includes(config.paths.dataDir) && repairs.includes(config.paths.configFile), repairs.join(', '));
    assert.equal(mode(real), 0o700);
  });

  test('a header value with CR/LF or control characters stops start-up (exit 2) naming the key', async () => {
    const home = newHome();
    fs.writeFileSync(path.join(home, 'config.json'), JSON.stringify({ headers: { user_agent: 'GitHubCopilotChat/0.29.1\r\nX-Evil: 1' } }));
    const r = await runCli(['run', '--port', '0'], { GITHUB_COPILOT_SVCS_HOME: home, GITHUB_COPILOT_SVCS_KEYCHAIN: 'off' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /config error: .*config\.json: headers\.user_agent: must be printable ASCII on one line/);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
