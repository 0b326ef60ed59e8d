/**
 * Windows, under Wine (Debian's wine64 8.0): the win32-x64 single-file binary
 * (build/sea.mjs) runs `version`, `config`, `status`, `autostart` (the real
 * reg.exe) and `run` against the fake Copilot behind TLS, as GitHub and
 * Copilot are (health, dashboard, a chat non-stream and stream); then Node's
 * own win32 node.exe (the build cache's, checked against its pin) runs the
 * build scripts' unit tests (test/build/).
 *
 * Wine facts this relies on, each seen in a trial:
 * - A Windows program's stdout/stderr must be files: a pipe gives EBADF when
 *   node opens them. So every command's output goes to a file here.
 * - Turning TCP keep-alive on while a socket is still connecting makes the
 *   connect fail with `connect UNKNOWN`. undici does that for every TLS
 *   connection (for plain TCP too at its default), so the config says
 *   `timeouts.keep_alive: -1` (TCP keep-alive off), a real user setting;
 *   without it every upstream call here fails.
 * - A private WINEPREFIX (and HOME: Wine's menu builder writes into
 *   ~/.local/share) in a temp dir; WINEDEBUG=-all; no Mono/Gecko prompts.
 *
 * Without wine64 it is skipped, except in CI (CI=true), where it fails.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { z } from 'zod';
import { nodeBinary } from '../../build/sea.mjs';
import { statusJsonSchema } from '../../src/cli/status.ts';
import { healthBodySchema } from '../../src/ipc/bodies.ts';
import { DASHBOARD_FILES } from '../../src/proxy/routes/dashboard.ts';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/index.ts';
import { freePort, waitUntil, which } from '../helpers/desktop.ts';

const root = path.resolve(import.meta.dirname, '../..');
const RUN_KEY = 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run';

/** Debian's wine64 package installs the loader here (its `wine` wrapper is only recommended); elsewhere it is on PATH. */
function findWine(): { wine: string; server: string | null } | null {
  if (fs.existsSync('/usr/lib/wine/wine64')) return { wine: '/usr/lib/wine/wine64', server: fs.existsSync('/usr/lib/wine/wineserver64') ? '/usr/lib/wine/wineserver64' : null };
  for (const cmd of ['wine64', 'wine']) if (which(cmd)) return { wine: cmd, server: which('wineserver') ? 'wineserver' : null };
  return null;
}

const found = findWine();
const hostOk = process.platform === 'linux' && process.arch === 'x64';
const inCI = process.env.CI === 'true';
const skip = !hostOk ? 'the Wine suite runs on linux-x64' : found || inCI ? false : 'needs wine64 (apt-get install wine64; see build/apt-packages.txt)';

/** Made in before(): a skipped suite leaves nothing behind. */
const tmp = path.join(os.tmpdir(), `gcs-wine-${process.pid}-${Date.now().toString(36)}`);
const prefix = path.join(tmp, 'prefix');
const wineHome = path.join(tmp, 'home');
const dataDir = path.join(tmp, 'data dir');
/** In a folder with a space, as under C:\Program Files. */
const exe = path.join(tmp, 'release dir', 'github-copilot-svcs-win32-x64.exe');
const esc = (text: string) => text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
/** A Unix path as Wine's Windows programs see it (drive Z: is /). */
const winPath = (p: string) => `Z:${p.split(path.sep).join('\\')}`;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

let outputs = 0;
const report: Record<string, number> = {};

/** The environment of every Wine process: nothing from ours (no NODE_OPTIONS, no NODE_TEST_CONTEXT). */
function wineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/bin:/bin',
    HOME: wineHome,
    USER: os.userInfo().username,
    LANG: 'C.UTF-8',
    WINEPREFIX: prefix,
    WINEDEBUG: '-all',
    // No Mono/Gecko install prompts, no menu entries written into $HOME.
    WINEDLLOVERRIDES: 'mscoree,mshtml=;winemenubuilder.exe=d',
    ...extra,
  };
}

/** Start `wine <args>` with stdout and stderr going to files (a pipe gives EBADF under Wine). */
function startWine(args: string[], env: NodeJS.ProcessEnv, cwd = tmp): { child: ChildProcess; stdout: () => string; stderr: () => string } {
  assert.ok(found, 'wine64 is not installed: apt-get install wine64 (build/apt-packages.txt lists it)');
  const n = ++outputs;
  const outFile = path.join(tmp, `out-${n}.txt`);
  const errFile = path.join(tmp, `err-${n}.txt`);
  const out = fs.openSync(outFile, 'w');
  const err = fs.openSync(errFile, 'w');
  try {
    const child = spawn(found.wine, args, { cwd, env, stdio: ['ignore', out, err] });
    const read = (f: string) => () => fs.readFileSync(f, 'utf8');
    return { child, stdout: read(outFile), stderr: read(errFile) };
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
  }
}

async function wine(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000, cwd = tmp): Promise<Ran> {
  const p = startWine(args, env, cwd);
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      p.child.kill('SIGKILL');
      reject(new Error(`wine ${args.join(' ')} took over ${timeoutMs} ms:\n${p.stdout()}\n${p.stderr()}`));
    }, timeoutMs);
    p.child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** The binary under Wine; `home` false = no GITHUB_COPILOT_SVCS_HOME (the default data dir). */
function app(args: string[], opts: { home?: boolean; timeoutMs?: number } = {}): Promise<Ran> {
  return wine([exe, ...args], appEnv(opts.home ?? true), opts.timeoutMs);
}

/** The binary's environment: our data dir (or the default one), and trust in the TLS relay's certificate. */
function appEnv(home: boolean): NodeJS.ProcessEnv {
  return wineEnv({ NODE_EXTRA_CA_CERTS: winPath(path.join(tmp, 'cert.pem')), ...(home ? { GITHUB_COPILOT_SVCS_HOME: winPath(dataDir) } : {}) });
}

function timed<T>(name: string, p: Promise<T>): Promise<T> {
  const started = Date.now();
  return p.then((v) => {
    report[name] = Date.now() - started;
    return v;
  });
}

function parseJson<T>(schema: z.ZodType<T>, r: Ran, what: string): T {
  assert.equal(r.code, 0, `${what} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return schema.parse(JSON.parse(r.stdout));
}

/**
 * TLS in front of the fake (which speaks plain HTTP), with a certificate made
 * for 127.0.0.1 that the binary trusts through NODE_EXTRA_CA_CERTS.
 */
async function startTlsRelay(targetPort: number, keyFile: string, certFile: string): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = tls.createServer({ key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) }, (client) => {
    connections++;
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address();
  assert.ok(a && typeof a === 'object');
  return {
    url: `https://127.0.0.1:${a.port}`,
    connections: () => connections,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const configJsonSchema = z.record(z.string(), z.object({ value: z.unknown(), source: z.string() }));

describe('Windows: the win32-x64 binary under Wine', { skip, timeout: 300_000 }, () => {
  let fake: FakeUpstream;
  let relay: Awaited<ReturnType<typeof startTlsRelay>> | undefined;
  let port = 0;
  let profile = '';
  let proxy: ReturnType<typeof startWine> | null = null;

  before(async () => {
    fs.mkdirSync(tmp, { mode: 0o700 });
    assert.ok(found, 'wine64 is not installed: apt-get install wine64 (build/apt-packages.txt lists it)');
    fs.mkdirSync(wineHome);
    fs.mkdirSync(dataDir);
    const started = Date.now();
    // The binary's build and Wine's first start (wineboot) side by side: each takes 10-20 s.
    const build = timed(
      'build_win32_x64_ms',
      new Promise<void>((resolve, reject) => {
        const b = spawn(process.execPath, [path.join(root, 'build', 'sea.mjs'), '--target', 'win32-x64', '--out', path.dirname(exe)], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        b.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
        b.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`build/sea.mjs --target win32-x64 exited ${code}:\n${err}`))));
      }),
    );
    const boot = timed(
      'wineboot_ms',
      (async () => {
        const r = await wine(['wineboot', '--init'], wineEnv(), 120_000);
        assert.equal(r.code, 0, `wineboot: ${r.stderr}`);
        // Node 22 wants Windows 10 or later.
        const v = await wine(['winecfg', '-v', 'win10'], wineEnv());
        assert.equal(v.code, 0, `winecfg: ${v.stderr}`);
      })(),
    );
    await Promise.all([build, boot]);
    report.before_ms = Date.now() - started;
    const p = await wine(['cmd', '/c', 'echo %USERPROFILE%'], wineEnv());
    profile = p.stdout.trim();
    assert.match(profile, /^C:\\users\\[^\\]+$/i, `USERPROFILE: ${p.stdout}${p.stderr}`);
    fake = await startFakeUpstream();
    const key = path.join(tmp, 'key.pem');
    const cert = path.join(tmp, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    relay = await startTlsRelay(Number(new URL(fake.url).port), key, cert);
    port = await freePort();
    // Everything as a user would have it in config.json; keep_alive -1 is what Wine needs (see above).
    fs.writeFileSync(
      path.join(dataDir, 'config.json'),
      JSON.stringify({ port, github_url: relay.url, github_api_url: relay.url, copilot_api_url: relay.url, timeouts: { keep_alive: -1 } }, null, 2),
    );
    // Signed in as `auth --token` leaves it with no keychain: the file store (a cross-built binary carries no keytar).
    fs.writeFileSync(path.join(dataDir, 'tokens.json'), JSON.stringify({ github_token: fake.createGithubToken(), oauth_app: 'vscode' }), { mode: 0o600 });
  });

  after(async () => {
    if (proxy?.child.exitCode === null) proxy.child.kill('SIGKILL');
    // Ends every process of this prefix (and its wineserver), nothing else.
    if (found?.server) await new Promise<void>((resolve) => spawn(found.server ?? '', ['-k'], { env: wineEnv(), stdio: 'ignore' }).on('exit', () => resolve()).on('error', () => resolve()));
    await relay?.close();
    await fake?.close();
    fs.mkdirSync(path.join(root, 'test-artifacts'), { recursive: true });
    fs.writeFileSync(path.join(root, 'test-artifacts', 'wine.json'), `${JSON.stringify(report, null, 2)}\n`);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('version: Node 22 on win32-x64', async (t) => {
    const r = await timed('version_ms', app(['version']));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^github-copilot-svcs \d+\.\d+\.\d+ \(commit (?:[0-9a-f]{7,}|unknown), built \d{4}-\d{2}-\d{2}; node v22\.23\.2, win32-x64\)\r?\n$/);
    t.diagnostic(`wineboot took ${report.wineboot_ms} ms (beside the build, ${report.build_win32_x64_ms} ms); version ${report.version_ms} ms`);
  });

  test("config: the default data dir is in the user's profile; GITHUB_COPILOT_SVCS_HOME and config.json are read", async (t) => {
    const d = parseJson(configJsonSchema, await app(['config', '--json'], { home: false }), 'config --json');
    // src/config/paths.ts: the Go tool's ~/.local/share/github-copilot-svcs, with ~ = %USERPROFILE%.
    assert.equal(d['paths.data_dir']?.value, `${profile}\\.local\\share\\github-copilot-svcs`);
    t.diagnostic(`default data dir under Wine: ${String(d['paths.data_dir']?.value)}`);
    const c = parseJson(configJsonSchema, await app(['config', '--json']), 'config --json');
    assert.deepEqual(c['paths.data_dir'], { value: winPath(dataDir), source: 'derived' });
    assert.deepEqual(c['paths.token_file'], { value: `${winPath(dataDir)}\\tokens.json`, source: 'derived' });
    assert.deepEqual(c['timeouts.keep_alive'], { value: -1, source: 'file' });
    assert.deepEqual(c.port, { value: port, source: 'file' });
  });

  test('status: signed in from the token file, no proxy running yet', async () => {
    const s = parseJson(statusJsonSchema, await app(['status', '--json']), 'status --json');
    assert.equal(s.config_file, `${winPath(dataDir)}\\config.json`);
    assert.equal(s.token.signed_in, true);
    assert.equal(s.token.store, 'file');
    assert.equal(s.token_file, `${winPath(dataDir)}\\tokens.json`);
    assert.deepEqual(s.proxy, { running: false, url: `http://127.0.0.1:${port}`, version: null, held_by_other: false, held_by_program: null });
    const text = await app(['status']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Authentication: ✓ Authenticated\r?$/m);
    assert.match(text.stdout, new RegExp(`^Token store: file \\(${esc(`${winPath(dataDir)}\\tokens.json`)}\\)\r?$`, 'm'));
  });

  test('autostart: enable writes the HKCU Run value with reg.exe, status reads it back, disable removes it', async () => {
    const location = `${RUN_KEY}\\github-copilot-svcs`;
    const on = await app(['autostart', 'enable']);
    assert.equal(on.code, 0, on.stderr);
    const runs = `"${winPath(exe)}" "tray"`;
    assert.equal(on.stdout.trim().replace(/\r/g, ''), `Start at login: enabled (${location})\n  runs: ${runs}`);
    const q = await wine(['reg', 'query', RUN_KEY, '/v', 'github-copilot-svcs'], wineEnv());
    assert.equal(q.code, 0, q.stderr);
    // The binary's own path, then `tray`, each quoted (src/tray/autostart.ts windowsRunCommand).
    assert.match(q.stdout, new RegExp(`github-copilot-svcs\\s+REG_SZ\\s+${esc(`"${winPath(exe)}" "tray"`)}\r?$`, 'm'));
    assert.equal((await app(['autostart', 'status'])).stdout.trim().replace(/\r/g, ''), `Start at login: enabled (${location})\n  runs: ${runs}`);
    const off = await app(['autostart', 'disable']);
    assert.equal(off.code, 0, off.stderr);
    assert.equal(off.stdout.trim(), `Start at login: disabled (${location} not present)`);
    assert.notEqual((await wine(['reg', 'query', RUN_KEY, '/v', 'github-copilot-svcs'], wineEnv())).code, 0);
  });

  test('run: /health, the dashboard, a chat non-stream and stream through the fake Copilot; status sees it', async () => {
    const started = Date.now();
    proxy = startWine([exe, 'run'], appEnv(true));
    const p = proxy;
    const url = `http://127.0.0.1:${port}`;
    const health = await waitUntil(
      '/health from the proxy under Wine',
      async () => {
        if (p.child.exitCode !== null) throw new Error(`run exited ${p.child.exitCode}:\n${p.stdout()}\n${p.stderr()}`);
        try {
          const res = await fetch(`${url}/health`);
          return res.status === 200 ? res : null;
        } catch {
          return null;
        }
      },
      60_000,
    );
    report.run_health_ms = Date.now() - started;
    assert.equal(healthBodySchema.parse(await health.json()).token.signed_in, true);

    // The dashboard, from the binary's own assets: the files the package serves from dist/dashboard/.
    for (const [name, type] of DASHBOARD_FILES) {
      const res = await fetch(name === 'index.html' ? `${url}/` : `${url}/dashboard/${name}`);
      assert.equal(res.status, 200, name);
      assert.equal(res.headers.get('content-type'), type);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(fs.readFileSync(path.join(root, 'dist', 'dashboard', name))), `${name} as built`);
    }

    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'dummy', maxRetries: 0, timeout: 60_000 });
    const r = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'from Windows' }] });
    assert.equal(r.choices[0]?.message.content, 'Echo: from Windows');
    let streamed = '';
    for await (const chunk of await client.chat.completions.create({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'streamed from Windows' }] })) {
      streamed += chunk.choices[0]?.delta?.content ?? '';
    }
    assert.equal(streamed, 'Echo: streamed from Windows');
    assert.equal(fake.counts.chat, 2, 'both went to the fake Copilot');
    assert.ok(fake.counts.exchange >= 1, 'the Copilot token was fetched from under Wine');
    assert.ok(relay && relay.connections() >= 1, 'over TLS');
    report.run_total_ms = Date.now() - started;

    const s = parseJson(statusJsonSchema, await app(['status', '--json']), 'status --json');
    assert.equal(s.proxy.running, true, JSON.stringify(s.proxy));
    assert.equal(s.token.health, 'healthy');

    p.child.kill('SIGKILL');
    await waitUntil('the proxy gone', () => p.child.exitCode !== null || p.child.signalCode !== null, 15_000);
    const log = fs.readFileSync(path.join(dataDir, 'github-copilot-svcs.log'), 'utf8');
    assert.match(log, /request method=POST route=\/v1\/chat\/completions .*status=200/);
  });

  test("the build scripts' unit tests (test/build/) under Node's win32 node.exe", async (t) => {
    const nodeExe = nodeBinary('win32-x64');
    const files = fs
      .readdirSync(path.join(root, 'test', 'build'))
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => `test\\build\\${f}`);
    assert.ok(files.length >= 2, files.join(' '));
    const r = await timed('build_tests_ms', wine([nodeExe, '--test', '--test-reporter=tap', ...files], wineEnv(), 180_000, root));
    const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(r.stdout)?.[1] ?? Number.NaN);
    assert.equal(r.code, 0, `node.exe --test:\n${r.stdout.slice(-6000)}\n${r.stderr.slice(-2000)}`);
    assert.equal(count('fail'), 0);
    assert.equal(count('cancelled'), 0);
    assert.ok(count('pass') >= 10, `passed: ${count('pass')}`);
    // Only what needs git is skipped: Wine's PATH has none.
    const skips = r.stdout.split('\n').filter((l) => /^\s*ok \d+ - .* # SKIP/.test(l));
    assert.ok(skips.every((l) => /# SKIP no git on this PATH/.test(l)), skips.join('\n'));
    assert.equal(count('skipped'), skips.length);
    t.diagnostic(`${count('pass')} passed, ${skips.length} skipped (no git) in ${report.build_tests_ms} ms`);
  });
});
