/**
 * The single-file binaries (build/sea.mjs), as users get them from a release:
 * all six built from one command; the linux-x64 one run from `/` with a clean
 * HOME and nothing on PATH (no node anywhere it could find): version, status,
 * sign-in into a real Secret Service, run + chat, and the tray under Xvfb with
 * its proxy child; the linux-arm64 one run under qemu-aarch64; the other four
 * checked for their format, their injected app and (macOS) the removed signature.
 * Sizes and start-up times go to test-artifacts/binaries.json.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { DASHBOARD_FILES } from '../../src/proxy/routes/dashboard.ts';
import { PROXY_NODE_OPTIONS } from '../../src/runtime/heap.ts';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/index.ts';
import { desktopSkip, freePort, killAndWait, run, startSessionBus, startTrayer, startXvfb, waitUntil, which } from '../helpers/desktop.ts';

const root = path.resolve(import.meta.dirname, '../..');
const artifacts = path.join(root, 'test-artifacts');
const TARGETS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64'] as const;
type Target = (typeof TARGETS)[number];
const exeName = (t: Target) => `github-copilot-svcs-${t}${t.startsWith('win32') ? '.exe' : ''}`;
/** postject flips the fuse's last character to 1 when it injects the app. */
const FUSE_ON = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1';
const QEMU_LD_PREFIX = '/usr/aarch64-linux-gnu';

const hostOk = process.platform === 'linux' && process.arch === 'x64';
const skip = hostOk ? false : 'the binary suite runs on linux-x64';
const qemuBin = (process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'qemu-aarch64')).find((p) => fs.existsSync(p)) ?? 'qemu-aarch64';
const qemuSkip = !hostOk ? 'linux-x64 only' : which('qemu-aarch64') && fs.existsSync(path.join(QEMU_LD_PREFIX, 'lib', 'ld-linux-aarch64.so.1')) ? false : 'needs qemu-aarch64 and the arm64 C library (apt-get install qemu-user libc6-arm64-cross libstdc++6-arm64-cross)';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-binary-'));
const out = path.join(tmp, 'release');
/** A PATH with nothing in it: the binary must need no node, and no other program, to run. */
const emptyPath = path.join(tmp, 'empty-path');
const report: Record<string, unknown> = {};

function cleanEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // Port 9 (discard): nothing of ours listens there; npm test holds 8081 and fails a run that reaches it.
  return { PATH: emptyPath, HOME: home, GITHUB_COPILOT_SVCS_PORT: '9', ...extra };
}

function newHome(): string {
  return fs.mkdtempSync(path.join(tmp, 'home-'));
}

function fakeEnv(fake: FakeUpstream, home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return cleanEnv(home, {
    GITHUB_COPILOT_SVCS_GITHUB_URL: fake.url,
    GITHUB_COPILOT_SVCS_GITHUB_API_URL: fake.url,
    GITHUB_COPILOT_SVCS_COPILOT_API_URL: fake.url,
    ...extra,
  });
}

/** Median wall time of `n` runs of `cmd args`, in ms. */
function medianMs(cmd: string, args: string[], env: NodeJS.ProcessEnv, n: number): number {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    execFileSync(cmd, args, { cwd: '/', env, stdio: 'ignore' });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(n / 2)]!);
}

/** Start `run --port 0`, wait for its URL; the caller stops it. */
async function startRun(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(cmd, [...args, 'run', '--port', '0'], { cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const url = await waitUntil('the listening line', () => /listening on (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(err)?.[1] ?? (child.exitCode !== null ? Promise.reject(new Error(`exited ${child.exitCode}:\n${err}`)) : undefined), timeoutMs);
  return { child, url, stderr: () => err };
}

async function chat(url: string, text: string): Promise<string | null | undefined> {
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'dummy', maxRetries: 0, timeout: 60_000 });
  const r = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: text }] });
  return r.choices[0]?.message.content;
}

describe('single-file binaries', { skip, timeout: 900_000 }, () => {
  let fake: FakeUpstream;
  const bin = (t: Target) => path.join(out, exeName(t));

  before(async () => {
    fs.mkdirSync(emptyPath);
    fake = await startFakeUpstream();
    const started = Date.now();
    // The one command that builds all six (downloads each target's Node from the npm registry once, then cached).
    execFileSync(process.execPath, [path.join(root, 'build', 'sea.mjs'), '--target', 'all', '--out', out], { cwd: root, stdio: 'inherit', timeout: 800_000 });
    report.build_all_s = Math.round((Date.now() - started) / 100) / 10;
  });

  after(async () => {
    await fake.close();
    fs.mkdirSync(artifacts, { recursive: true });
    fs.writeFileSync(path.join(artifacts, 'binaries.json'), `${JSON.stringify(report, null, 2)}\n`);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('all six are built, each with the app injected; sizes recorded', () => {
    const sizes: Record<string, number> = {};
    for (const t of TARGETS) {
      const data = fs.readFileSync(bin(t));
      sizes[t] = Math.round((data.length / 1024 / 1024) * 10) / 10;
      assert.ok(data.includes(FUSE_ON), `${t}: the SEA fuse is set`);
      assert.ok(data.includes('__keychain-helper'), `${t}: holds the bundled app`);
      assert.ok(sizes[t] > 40 && sizes[t] < 250, `${t}: ${sizes[t]} MB`);
    }
    report.size_mb = sizes;
  });

  test('each has its platform\'s executable format (file)', () => {
    const expected: Record<Target, RegExp> = {
      'linux-x64': /ELF 64-bit LSB (pie )?executable, x86-64/,
      'linux-arm64': /ELF 64-bit LSB (pie )?executable, ARM aarch64/,
      'darwin-x64': /Mach-O 64-bit x86_64 executable/,
      'darwin-arm64': /Mach-O 64-bit arm64 executable/,
      'win32-x64': /PE32\+ executable \(console\) x86-64.*MS Windows/,
      'win32-arm64': /PE32\+ executable \(console\) Aarch64.*MS Windows/,
    };
    const formats: Record<string, string> = {};
    for (const t of TARGETS) {
      const f = execFileSync('file', ['-b', bin(t)], { encoding: 'utf8' }).trim();
      formats[t] = f;
      assert.match(f, expected[t], t);
    }
    report.file = formats;
  });

  test('the macOS ones carry no (broken) signature: the release signs them ad hoc on a Mac', () => {
    const { unsign } = createRequire(import.meta.url)('macho-unsign') as { unsign(b: Uint8Array): ArrayBuffer | null };
    for (const t of ['darwin-x64', 'darwin-arm64'] as const) assert.equal(unsign(fs.readFileSync(bin(t))), null, `${t} is unsigned`);
  });

  test('linux-x64 with nothing on PATH: version, and its start-up time', () => {
    const home = newHome();
    const v = execFileSync(bin('linux-x64'), ['version'], { cwd: '/', env: cleanEnv(home), encoding: 'utf8' });
    assert.match(v, /^github-copilot-svcs \d+\.\d+\.\d+ \(commit [0-9a-f]{7,}, built \d{4}-\d{2}-\d{2}; node v22\.\d+\.\d+, linux-x64\)\n$/);
    report.linux_x64_version_ms = medianMs(bin('linux-x64'), ['version'], cleanEnv(home), 7);
    report.linux_x64_status_ms = medianMs(bin('linux-x64'), ['status'], cleanEnv(home, { GITHUB_COPILOT_SVCS_KEYCHAIN: 'off' }), 5);
  });

  test('linux-x64: status from / with a clean HOME; the native pieces go to a 0700 cache dir', () => {
    const home = newHome();
    const s = execFileSync(bin('linux-x64'), ['status'], { cwd: '/', env: cleanEnv(home), encoding: 'utf8' });
    // Started by its path (not on PATH): the message names that path.
    assert.match(s, new RegExp(`^Status: ❌ Not signed in — run '${bin('linux-x64').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} auth'$`, 'm'));
    const cache = path.join(home, '.cache', 'github-copilot-svcs');
    const [dir] = fs.readdirSync(cache);
    assert.ok(dir, 'a versioned dir');
    const d = path.join(cache, dir);
    assert.equal(fs.statSync(d).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(d, 'keytar', 'keytar.node')).mode & 0o777, 0o644);
    assert.equal(fs.statSync(path.join(d, 'systray', '2.1.4', 'tray_linux_release')).mode & 0o777, 0o755);
    assert.ok(fs.existsSync(path.join(d, 'assets', 'tray-healthy-32.png')));
  });

  test('linux-x64: the cache trusts nothing it did not write: a symlinked subdir is refused (nothing written through it), a file of ours is rewritten', () => {
    const home = newHome();
    execFileSync(bin('linux-x64'), ['status'], { cwd: '/', env: cleanEnv(home), encoding: 'utf8' });
    const cache = path.join(home, '.cache', 'github-copilot-svcs');
    const [version] = fs.readdirSync(cache);
    assert.ok(version);
    const d = path.join(cache, version);
    // An attacker's link inside the versioned dir, where the tray helper goes.
    const elsewhere = fs.mkdtempSync(path.join(tmp, 'elsewhere-'));
    fs.rmSync(path.join(d, 'systray'), { recursive: true, force: true });
    fs.symlinkSync(elsewhere, path.join(d, 'systray'));
    // A helper swapped for other bytes is put back.
    const keytarNode = path.join(d, 'keytar', 'keytar.node');
    fs.writeFileSync(keytarNode, 'not keytar');
    const r = spawnSync(bin('linux-x64'), ['status', '--log-level', 'info'], { cwd: '/', env: cleanEnv(home), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Status: ❌ Not signed in/m, 'status still answers');
    assert.match(r.stderr, /symbolic link; the cache holds only real directories/);
    assert.deepEqual(fs.readdirSync(elsewhere), [], 'nothing was written through the link');
  });

  test('linux-x64: auth --token saves into a real Secret Service through the bundled keytar', async () => {
    const home = newHome();
    const token = fake.createGithubToken();
    // A private session bus with an unlocked gnome-keyring; the binary is the only program it runs from us.
    const inner = `echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; printf '%s' "$GCS_TOKEN" | "$GCS_BIN" auth --token - && "$GCS_BIN" status --json`;
    const env = fakeEnv(fake, home, { GCS_TOKEN: token, GCS_BIN: bin('linux-x64') });
    // Async: the fake upstream answers from this process.
    const r = await new Promise<string>((resolve, reject) =>
      execFile('dbus-run-session', ['--', 'sh', '-c', inner], { cwd: '/', env: { ...env, PATH: '/usr/bin:/bin' }, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    assert.ok(!r.includes(token), 'the token is never printed');
    // status --json is the last thing printed: a pretty JSON object from its first line '{'.
    const status: unknown = JSON.parse(r.slice(r.lastIndexOf('\n{\n') + 1));
    assert.ok(typeof status === 'object' && status !== null && 'token' in status);
    assert.match(JSON.stringify(status.token), /"store":"keychain"/);
    assert.match(JSON.stringify(status.token), /"signed_in":true/);
    assert.equal(fs.existsSync(path.join(home, '.local', 'share', 'github-copilot-svcs', 'tokens.json')), false, 'nothing in the file store');
  });

  test('linux-x64 with nothing on PATH: run serves a chat from the fake upstream', async () => {
    const home = newHome();
    const started = Date.now();
    const r = await startRun(bin('linux-x64'), [], fakeEnv(fake, home, { GITHUB_COPILOT_SVCS_GITHUB_TOKEN: fake.createGithubToken(), GITHUB_COPILOT_SVCS_KEYCHAIN: 'off' }), 30_000);
    try {
      report.linux_x64_run_listening_ms = Date.now() - started;
      assert.equal(await chat(r.url, 'from the binary'), 'Echo: from the binary');
      // The dashboard, from the binary's own assets: the same files the package serves from dist/dashboard/.
      for (const [name, type] of DASHBOARD_FILES) {
        const res = await fetch(name === 'index.html' ? `${r.url}/` : `${r.url}/dashboard/${name}`);
        assert.equal(res.status, 200, name);
        assert.equal(res.headers.get('content-type'), type);
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(fs.readFileSync(path.join(root, 'dist', 'dashboard', name))), `${name} as built`);
      }
    } finally {
      await killAndWait(r.child);
    }
    const log = fs.readFileSync(path.join(home, '.local', 'share', 'github-copilot-svcs', 'github-copilot-svcs.log'), 'utf8');
    assert.match(log, /request method=POST route=\/v1\/chat\/completions .*status=200/);
  });

  describe('linux-x64 tray under Xvfb', { skip: desktopSkip() }, () => {
    const procs: ChildProcess[] = [];
    after(async () => {
      for (const p of procs.reverse()) await killAndWait(p);
    });

    test('shows its icon and runs the proxy child (the binary again), which answers; SIGTERM ends both', async () => {
      const home = newHome();
      const display = await startXvfb(procs);
      const bus = await startSessionBus(procs);
      const desktop = { PATH: '/usr/bin:/bin', HOME: home, DISPLAY: display, DBUS_SESSION_BUS_ADDRESS: bus, NO_AT_BRIDGE: '1', XDG_RUNTIME_DIR: home };
      await startTrayer(procs, desktop);
      const port = await freePort();
      const env = fakeEnv(fake, home, {
        DISPLAY: display,
        DBUS_SESSION_BUS_ADDRESS: bus,
        NO_AT_BRIDGE: '1',
        XDG_RUNTIME_DIR: home,
        GITHUB_COPILOT_SVCS_GITHUB_TOKEN: fake.createGithubToken(),
        GITHUB_COPILOT_SVCS_KEYCHAIN: 'off',
        GITHUB_COPILOT_SVCS_PORT: String(port),
      });
      const tray = spawn(bin('linux-x64'), ['tray'], { cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe'] });
      procs.push(tray);
      let log = '';
      tray.stdout?.on('data', (d: Buffer) => (log += d.toString()));
      tray.stderr?.on('data', (d: Buffer) => (log += d.toString()));
      const health = await waitUntil(
        '/health from the proxy child',
        async () => {
          if (tray.exitCode !== null) throw new Error(`tray exited ${tray.exitCode}:\n${log}`);
          try {
            const res = await fetch(`http://127.0.0.1:${port}/health`);
            return res.status === 200 ? res : null;
          } catch {
            return null;
          }
        },
        60_000,
      );
      assert.equal(health.status, 200);
      await waitUntil('the tray icon window', async () => (await run('xdotool', ['search', '--class', 'systray'], desktop)).code === 0, 30_000);
      assert.equal(await chat(`http://127.0.0.1:${port}`, 'tray child'), 'Echo: tray child');
      const childPids = execFileSync('pgrep', ['-P', String(tray.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
      // The child sets its title (which is its cmdline on Linux).
      const proxyChild = childPids.find((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('github-copilot-svcs-proxy'));
      assert.ok(proxyChild, `a proxy child among ${childPids.join(',')}:\n${log}`);
      // The binary takes node options only from NODE_OPTIONS: the child's heap settings (#22) must be there.
      const childEnv = fs.readFileSync(`/proc/${proxyChild}/environ`, 'utf8').split('\0');
      assert.ok(childEnv.includes(`NODE_OPTIONS=${PROXY_NODE_OPTIONS.join(' ')}`), `the proxy child's NODE_OPTIONS: ${childEnv.filter((l) => l.startsWith('NODE_OPTIONS')).join() || 'none'}`);
      tray.kill('SIGTERM');
      await waitUntil('the tray gone', () => tray.exitCode !== null || tray.signalCode !== null, 15_000);
      await waitUntil('the proxy child gone', () => !fs.existsSync(`/proc/${proxyChild}`) || /^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${proxyChild}/stat`, 'utf8')), 15_000);
    });
  });

  describe('linux-x64 tray with a refused cache', { skip: desktopSkip() }, () => {
    const procs: ChildProcess[] = [];
    after(async () => {
      for (const p of procs.reverse()) await killAndWait(p);
    });

    test('a symlinked helper dir in the cache: the tray runs headless, says why, and keeps serving (it does not exit)', async () => {
      const home = newHome();
      execFileSync(bin('linux-x64'), ['status'], { cwd: '/', env: cleanEnv(home), encoding: 'utf8' });
      const cache = path.join(home, '.cache', 'github-copilot-svcs');
      const [version] = fs.readdirSync(cache);
      assert.ok(version);
      const elsewhere = fs.mkdtempSync(path.join(tmp, 'elsewhere-'));
      fs.rmSync(path.join(cache, version, 'systray'), { recursive: true, force: true });
      fs.symlinkSync(elsewhere, path.join(cache, version, 'systray'));
      const display = await startXvfb(procs);
      const port = await freePort();
      const env = fakeEnv(fake, home, { DISPLAY: display, GITHUB_COPILOT_SVCS_GITHUB_TOKEN: fake.createGithubToken(), GITHUB_COPILOT_SVCS_KEYCHAIN: 'off', GITHUB_COPILOT_SVCS_PORT: String(port) });
      const tray = spawn(bin('linux-x64'), ['tray'], { cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe'] });
      procs.push(tray);
      let log = '';
      tray.stdout?.on('data', (d: Buffer) => (log += d.toString()));
      tray.stderr?.on('data', (d: Buffer) => (log += d.toString()));
      await waitUntil('the headless warning', () => /No system tray available \(the tray helper cannot be used: .*symbolic link/.test(log), 30_000);
      await waitUntil(
        '/health from the proxy child',
        async () => {
          if (tray.exitCode !== null) throw new Error(`tray exited ${tray.exitCode}:\n${log}`);
          return (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.status === 200;
        },
        60_000,
      );
      assert.equal(await chat(`http://127.0.0.1:${port}`, 'headless tray'), 'Echo: headless tray');
      assert.equal(tray.exitCode, null, `the tray is still running:\n${log}`);
      assert.deepEqual(fs.readdirSync(elsewhere), [], 'nothing written through the link');
    });
  });

  test('linux-arm64 under qemu-aarch64: version and run serve a chat', { skip: qemuSkip }, async () => {
    const home = newHome();
    const qemu = [qemuBin, ['-L', QEMU_LD_PREFIX, bin('linux-arm64')]] as const;
    const v = execFileSync(qemu[0], [...qemu[1], 'version'], { cwd: '/', env: cleanEnv(home), encoding: 'utf8' });
    assert.match(v, /node v22\.\d+\.\d+, linux-arm64\)\n$/);
    report.linux_arm64_qemu_version_ms = medianMs(qemu[0], [...qemu[1], 'version'], cleanEnv(home), 3);
    const r = await startRun(qemu[0], [...qemu[1]], fakeEnv(fake, home, { GITHUB_COPILOT_SVCS_GITHUB_TOKEN: fake.createGithubToken(), GITHUB_COPILOT_SVCS_KEYCHAIN: 'off' }), 120_000);
    try {
      assert.equal(await chat(r.url, 'arm64'), 'Echo: arm64');
    } finally {
      await killAndWait(r.child);
    }
  });
});
