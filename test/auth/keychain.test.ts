import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempHome } from './helpers.ts';

// The keychain path against a REAL Secret Service (gnome-keyring under
// dbus-run-session). These tests fail, never skip, when it is not installed:
// CI's .ci/run installs libsecret-1-dev gnome-keyring dbus dbus-x11.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const probe = path.join(root, 'test', 'auth', 'fixtures', 'keychain-probe.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  killed: boolean;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, limitMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started, killed });
    });
  });
}

function baseEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GITHUB_COPILOT_SVCS_HOME: home };
  // With DISPLAY set and a locked keyring, libsecret opens a dialog and never returns.
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  delete env.GITHUB_COPILOT_SVCS_KEYCHAIN;
  delete env.NODE_OPTIONS;
  return env;
}

function lastJson(stdout: string): Record<string, unknown> {
  const line = stdout.trim().split('\n').pop() ?? '';
  const v: unknown = JSON.parse(line);
  assert.ok(typeof v === 'object' && v !== null);
  return { ...v };
}

describe('keychain (real Secret Service)', () => {
  test('dbus-run-session + gnome-keyring: save, load and clear go through keytar', async () => {
    const h = tempHome();
    try {
      const inner = `echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; exec "${process.execPath}" --import tsx "${probe}" roundtrip`;
      const r = await run('dbus-run-session', ['--', 'sh', '-c', inner], baseEnv(h.dir), 30_000);
      assert.equal(r.killed, false, `timed out: ${r.stderr}`);
      assert.equal(r.code, 0, r.stderr);
      const out = lastJson(r.stdout);
      assert.equal(out.kind, 'keychain', r.stderr);
      assert.equal(out.kindAfterSave, 'keychain');
      assert.equal(out.loaded, 'gho_keychain_roundtrip_0001');
      assert.equal(out.inSecretService, true);
      assert.equal(out.afterClear, null);
      assert.equal(out.inSecretServiceAfterClear, false);
      assert.equal(fs.existsSync(path.join(h.dir, 'tokens.json')), false, 'nothing written to the file store');
    } finally {
      h.cleanup();
    }
  });

  test('logout and uninstall remove the entry from the real Secret Service (and the token file)', async () => {
    const h = tempHome();
    const xdg = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-xdg-'));
    try {
      const bin = path.join(root, 'dist', 'github-copilot-svcs.mjs');
      const kc = `"${process.execPath}" -e "require('${path.join(root, 'node_modules', 'keytar')}').getPassword('github-copilot-svcs','tokens').then((v)=>console.log('KEYCHAIN '+(v===null?'empty':'holds '+(v.includes('gho_kc_logout')?'ours':'other'))))"`;
      const cli = `"${process.execPath}" "${bin}"`;
      // opencode tokens need no exchange: nothing leaves the machine.
      const inner = [
        'echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null',
        `echo gho_kc_logout_0001 | ${cli} auth --oauth-app opencode --token -`,
        kc,
        `${cli} status --json | grep -o '"store": "[a-z]*"'`,
        `${cli} logout`,
        kc,
        `echo gho_kc_logout_0002 | ${cli} auth --oauth-app opencode --token -`,
        kc,
        `${cli} uninstall --dry-run >/dev/null`,
        kc,
        `${cli} uninstall --yes`,
        kc,
      ].join(' && ');
      const env = { ...baseEnv(h.dir), XDG_CONFIG_HOME: path.join(xdg, 'config'), XDG_CACHE_HOME: path.join(xdg, 'cache'), GITHUB_COPILOT_SVCS_PORT: '9' };
      const r = await run('dbus-run-session', ['--', 'sh', '-c', inner], env, 60_000);
      assert.equal(r.killed, false, `timed out: ${r.stderr}`);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const states = r.stdout.split('\n').filter((l) => l.startsWith('KEYCHAIN ')).map((l) => l.slice('KEYCHAIN '.length));
      assert.deepEqual(states, ['holds ours', 'empty', 'holds ours', 'holds ours', 'empty'], r.stdout);
      assert.match(r.stdout, /"store": "keychain"/);
      assert.match(r.stdout, /✓ Signed out: the tokens were removed from the OS keychain and /);
      assert.equal(fs.existsSync(h.dir), false, 'the data dir held only our files and is gone');
      assert.doesNotMatch(r.stdout + r.stderr, /gho_kc_logout/);
    } finally {
      fs.rmSync(xdg, { recursive: true, force: true });
      h.cleanup();
    }
  });

  test('a D-Bus that never answers: file store within ~2 s, and the process exits by itself', async () => {
    const h = tempHome();
    const sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-bus-'));
    const sock = path.join(sockDir, 'bus');
    // Accepts connections and never says a word: keytar's call blocks in native code.
    const conns = new Set<net.Socket>();
    const server = net.createServer((s) => {
      conns.add(s);
      s.on('error', () => {});
      s.on('close', () => conns.delete(s));
    });
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const env = { ...baseEnv(h.dir), DBUS_SESSION_BUS_ADDRESS: `unix:path=${sock}` };
      const r = await run(process.execPath, ['--import', 'tsx', probe, 'fallback'], env, 20_000);
      assert.equal(r.killed, false, 'the process did not exit by itself');
      assert.equal(r.code, 0, r.stderr);
      const out = lastJson(r.stdout);
      assert.equal(out.kind, 'file');
      assert.equal(out.loaded, 'gho_keychain_roundtrip_0001');
      assert.ok(Number(out.probeMs) >= 1900 && Number(out.probeMs) < 4000, `probe took ${String(out.probeMs)} ms`);
      assert.ok(r.ms < 8000, `process lived ${r.ms} ms`);
      assert.equal(fs.statSync(path.join(h.dir, 'tokens.json')).mode & 0o777, 0o600);
    } finally {
      for (const s of conns) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      fs.rmSync(sockDir, { recursive: true, force: true });
      h.cleanup();
    }
  });

  test('no D-Bus at all: file store at once', async () => {
    const h = tempHome();
    try {
      const env = baseEnv(h.dir);
      delete env.DBUS_SESSION_BUS_ADDRESS;
      const r = await run(process.execPath, ['--import', 'tsx', probe, 'fallback'], env, 20_000);
      assert.equal(r.killed, false);
      assert.equal(r.code, 0, r.stderr);
      const out = lastJson(r.stdout);
      assert.equal(out.kind, 'file');
      assert.equal(out.loaded, 'gho_keychain_roundtrip_0001');
      assert.ok(Number(out.probeMs) < 2500);
    } finally {
      h.cleanup();
    }
  });
});
