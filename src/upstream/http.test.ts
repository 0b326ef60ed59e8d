import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { TIMEOUT_DEFAULTS } from '../config/schema.ts';
import { createDispatcher, dispatcherOptions, tcpKeepAlive } from './http.ts';
import { requestVia } from './request.ts';

describe('timeouts.keep_alive: the TCP keep-alive period, as the Go tool read it', () => {
  test('negative: off; 0: the runtime default; positive: the period in seconds', () => {
    assert.deepEqual(tcpKeepAlive(-1), { keepAlive: false });
    assert.deepEqual(tcpKeepAlive(-30), { keepAlive: false });
    assert.deepEqual(tcpKeepAlive(0), {});
    assert.deepEqual(tcpKeepAlive(30), { keepAlive: true, keepAliveInitialDelay: 30_000 });
    assert.deepEqual(tcpKeepAlive(1), { keepAlive: true, keepAliveInitialDelay: 1000 });
  });

  test('idle_conn_timeout, not keep_alive, is how long an idle pooled connection waits', () => {
    const o = dispatcherOptions({ ...TIMEOUT_DEFAULTS, keep_alive: 7, idle_conn_timeout: 45 });
    assert.equal(o.keepAliveTimeout, 45_000);
    assert.equal(o.keepAliveMaxTimeout, 45_000);
    assert.deepEqual(o.connect, { timeout: (TIMEOUT_DEFAULTS.dial_timeout + TIMEOUT_DEFAULTS.tls_handshake) * 1000, keepAlive: true, keepAliveInitialDelay: 7000 });
    // Through a proxy undici dials with proxyTls/requestTls: the same socket options.
    assert.deepEqual(o.proxyTls, o.connect);
    assert.deepEqual(o.requestTls, o.connect);
    assert.equal(o.headersTimeout, TIMEOUT_DEFAULTS.first_byte * 1000);
    assert.equal(o.bodyTimeout, TIMEOUT_DEFAULTS.stream_idle * 1000);
  });
});

describe('the dispatcher sets (or does not set) TCP keep-alive on the sockets it opens', () => {
  let server: http.Server;
  let url = '';
  /** Every setKeepAlive call on a socket, in order. */
  const calls: Array<[boolean | undefined, number | undefined]> = [];
  const original = net.Socket.prototype.setKeepAlive;

  before(async () => {
    server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const a = server.address();
    assert.ok(a && typeof a === 'object');
    url = `http://127.0.0.1:${a.port}/`;
    net.Socket.prototype.setKeepAlive = function (this: net.Socket, enable?: boolean, delay?: number) {
      calls.push([enable, delay]);
      return original.call(this, enable, delay);
    };
  });
  after(async () => {
    net.Socket.prototype.setKeepAlive = original;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function keepAliveCallsFor(keepAlive: number): Promise<Array<[boolean | undefined, number | undefined]>> {
    calls.length = 0;
    // The server's own accepted sockets call nothing; only the client side of this request does.
    const dispatcher = createDispatcher({ timeouts: { ...TIMEOUT_DEFAULTS, keep_alive: keepAlive } });
    try {
      const r = await requestVia(dispatcher, url, { method: 'GET' });
      assert.equal(await r.body.text(), 'ok');
    } finally {
      await dispatcher.close();
    }
    return [...calls];
  }

  test('keep_alive -1: never turned on (what Wine needs)', async () => {
    assert.deepEqual(
      (await keepAliveCallsFor(-1)).filter(([on]) => on === true),
      [],
    );
  });

  test('keep_alive 12: on, first probe after 12 s', async () => {
    assert.deepEqual(await keepAliveCallsFor(12), [[true, 12_000]]);
  });

  test("keep_alive 0: undici's default (on, 60 s)", async () => {
    assert.deepEqual(await keepAliveCallsFor(0), [[true, 60_000]]);
  });
});

// openssl req -addext is Debian's OpenSSL; the macOS and Windows unit jobs have LibreSSL or an MSYS build.
describe('TLS: one context for every upstream connection, with the default trust', { skip: process.platform !== 'linux' && 'makes its certificate with Linux openssl' }, () => {
  let dir = '';
  let server: https.Server;
  let url = '';
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-tls-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    // keepAlive off: each request is a new connection, a new handshake.
    server = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (_req, res) => res.setHeader('connection', 'close').end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const a = server.address();
    assert.ok(a && typeof a === 'object');
    url = `https://127.0.0.1:${a.port}/`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('through HTTP(S)_PROXY too: the proxy\'s TLS and the tunnelled TLS share the context', () => {
    const ctx = tls.createSecureContext();
    const o = dispatcherOptions(TIMEOUT_DEFAULTS, ctx);
    for (const k of ['connect', 'proxyTls', 'requestTls'] as const) assert.equal(Reflect.get(Object(o[k]), 'secureContext'), ctx, k);
  });

  test('a certificate nobody trusts is still refused', async () => {
    const dispatcher = createDispatcher({ timeouts: TIMEOUT_DEFAULTS });
    try {
      await assert.rejects(requestVia(dispatcher, url, { method: 'GET' }), (e: unknown) => e instanceof Error && /self-signed|SELF_SIGNED/i.test(`${e.message} ${String(Reflect.get(e, 'code'))}`));
    } finally {
      await dispatcher.close();
    }
  });

  test('trusted through NODE_EXTRA_CA_CERTS (how users add a corporate CA): three connections, no new TLS context for any', async () => {
    // NODE_EXTRA_CA_CERTS is read when a process starts: a child process with it.
    const script = `
      import { promisify } from 'node:util';
      import { createDispatcher } from './src/upstream/http.ts';
      import { requestVia } from './src/upstream/request.ts';
      import { TIMEOUT_DEFAULTS } from './src/config/schema.ts';
      const d = createDispatcher({ timeouts: TIMEOUT_DEFAULTS });
      let made = 0;
      const original = tls.createSecureContext;
      tls.createSecureContext = (o) => { made++; return original(o); };
      const bodies = [];
      for (let i = 0; i < 3; i++) bodies.push(await (await requestVia(d, ${JSON.stringify(url)}, { method: 'GET' })).body.text());
      await d.close();
      process.stdout.write(JSON.stringify({ bodies, made }));`;
    // Not execFileSync: this process's server must answer meanwhile.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: path.resolve(import.meta.dirname, '../..'), env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(dir, 'cert.pem') }, encoding: 'utf8' });
    assert.deepEqual(JSON.parse(stdout), { bodies: ['ok', 'ok', 'ok'], made: 0 });
  });
});

describe('HTTPS_PROXY: a proxy that takes the connection and never answers CONNECT', () => {
  let server: net.Server;
  let proxy = '';
  const held: net.Socket[] = [];
  before(async () => {
    server = net.createServer((s) => {
      held.push(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const a = server.address();
    assert.ok(a && typeof a === 'object');
    proxy = `http://127.0.0.1:${a.port}`;
  });
  after(async () => {
    for (const s of held) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('fails within dial_timeout + tls_handshake, not after undici default 300 s', async () => {
    // undici reads the lower-case names first, and NO_PROXY: only this proxy, for every host.
    const names = ['https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY'] as const;
    const saved = names.map((n) => [n, process.env[n]] as const);
    for (const n of names) delete process.env[n];
    process.env.HTTPS_PROXY = proxy;
    const dispatcher = createDispatcher({ timeouts: { ...TIMEOUT_DEFAULTS, dial_timeout: 1, tls_handshake: 1 } });
    for (const [n, v] of saved) {
      if (v === undefined) delete process.env[n];
      else process.env[n] = v;
    }
    const t0 = Date.now();
    try {
      await assert.rejects(requestVia(dispatcher, 'https://github.invalid/', { method: 'HEAD' }), /timeout/i);
      const took = Date.now() - t0;
      assert.ok(held.length >= 1, 'the request went to the proxy');
      assert.ok(took >= 1500 && took < 6000, `failed after ${took} ms`);
    } finally {
      await dispatcher.destroy();
    }
  });
});
