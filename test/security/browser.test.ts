import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { isAllowedHost, hostnameOf, isSameOrigin, normaliseOrigin } from '../../src/proxy/middleware/security.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';
import { CHAT_BODY, assertAnthropicError, assertOpenAIError, request } from './util.ts';

describe('Host check (DNS rebinding)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h.close();
  });

  test('a rebinding page (Host: evil.example) gets 403 in the caller shape, and nothing goes upstream', async () => {
    h.fake.clear();
    const port = h.proxy.port;
    for (const host of ['evil.example', `evil.example:${port}`, `attacker.localhost.evil.example:${port}`, `127.0.0.1.nip.io:${port}`, 'localhost.evil', '[::2]:1']) {
      const r = await request(h.url, { method: 'POST', path: '/v1/chat/completions', headers: { host, 'content-type': 'application/json' }, body: CHAT_BODY });
      assert.equal(r.status, 403, host);
      assert.equal(assertOpenAIError(r.json(), host).code, 'host_not_allowed');
    }
    const anth = await request(h.url, { method: 'POST', path: '/v1/messages', headers: { host: 'evil.example', 'content-type': 'application/json' }, body: '{}' });
    assert.equal(anth.status, 403);
    assertAnthropicError(anth.json());
    const health = await request(h.url, { path: '/health', headers: { host: 'evil.example' } });
    assert.equal(health.status, 403, '/health is not readable through a rebinding either');
    assert.equal(h.fake.counts.chat, 0);
  });

  test('no Host header (HTTP/1.1) gets 400 host_required, and an Expect other than 100-continue 417, both as JSON in the caller shape (Node answered both with an empty body)', async () => {
    const raw = (text: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const sock = net.connect(h.proxy.port, '127.0.0.1');
        let got = '';
        sock.setEncoding('latin1');
        sock.on('data', (d: string) => (got += d));
        sock.on('error', reject);
        sock.on('close', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(got)?.[1] ?? 0), body: got.split('\r\n\r\n').slice(1).join('') }));
        sock.end(text);
      });
    h.fake.clear();
    const noHost = await raw('POST /v1/chat/completions HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
    assert.equal(noHost.status, 400, noHost.body);
    assert.equal(assertOpenAIError(JSON.parse(noHost.body)).code, 'host_required');
    const noHostAnthropic = await raw('GET /v1/messages?beta=true HTTP/1.1\r\nConnection: close\r\n\r\n');
    assert.equal(noHostAnthropic.status, 400, noHostAnthropic.body);
    assertAnthropicError(JSON.parse(noHostAnthropic.body));
    const expect = await raw('POST /v1/messages?beta=true HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: foo\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
    assert.equal(expect.status, 417, expect.body);
    assertAnthropicError(JSON.parse(expect.body));
    const expectOpenAI = await raw('GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: bar\r\n\r\n');
    assert.equal(expectOpenAI.status, 417, expectOpenAI.body);
    assert.equal(assertOpenAIError(JSON.parse(expectOpenAI.body)).code, 'expectation_failed');
    // An HTTP/1.0 request may come without a Host: the Host check judges it as before (403).
    const old = await raw('GET /health HTTP/1.0\r\n\r\n');
    assert.equal(old.status, 403, old.body);
    assert.equal(h.fake.counts.chat + h.fake.counts.messages, 0);
  });

  test('localhost, 127.0.0.1 and [::1] on any port are served', async () => {
    for (const host of ['localhost', 'localhost:8081', `127.0.0.1:${h.proxy.port}`, '127.0.0.1', '[::1]', '[::1]:9999', 'LOCALHOST:1']) {
      const r = await request(h.url, { path: '/health', headers: { host } });
      assert.equal(r.status, 200, host);
    }
  });

  test('pure rule: the configured host is allowed; a wildcard bind (api_key mandatory) allows any', () => {
    assert.equal(isAllowedHost('myhost.lan:8081', 'myhost.lan'), true);
    assert.equal(isAllowedHost('other.lan:8081', 'myhost.lan'), false);
    assert.equal(isAllowedHost('10.0.0.5:8081', '10.0.0.5'), true);
    assert.equal(isAllowedHost('anything.example', '0.0.0.0'), true);
    assert.equal(isAllowedHost(undefined, '127.0.0.1'), false);
    assert.equal(isAllowedHost('user@localhost', '127.0.0.1'), false);
    assert.equal(isAllowedHost('localhost:99999999', '127.0.0.1'), false);
    assert.equal(hostnameOf('[::1]:80'), '::1');
    assert.equal(hostnameOf('LocalHost:80'), 'localhost');
  });
});

describe('Browser requests: CORS, cross-origin POST, simple content types', () => {
  let h: Harness;
  const allowed = 'http://localhost:3000';
  before(async () => {
    h = await startHarness({ config: { cors_origins: [allowed] } });
  });
  after(async () => {
    await h.close();
  });

  test('no CORS headers on a plain request', async () => {
    const r = await request(h.url, { path: '/v1/models' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
  });

  test('a cross-origin POST from an unlisted page is refused before any upstream call', async () => {
    h.fake.clear();
    for (const origin of ['https://evil.example', 'null', 'http://localhost:3001', 'http://localhost']) {
      const r = await request(h.url, { method: 'POST', path: '/v1/chat/completions', headers: { origin, 'content-type': 'application/json' }, body: CHAT_BODY });
      assert.equal(r.status, 403, origin);
      assert.equal(assertOpenAIError(r.json()).code, 'origin_not_allowed');
      assert.equal(r.headers['access-control-allow-origin'], undefined);
    }
    const anth = await request(h.url, { method: 'POST', path: '/v1/messages', headers: { origin: 'https://evil.example', 'content-type': 'application/json' }, body: '{}' });
    assert.equal(anth.status, 403);
    assertAnthropicError(anth.json());
    assert.equal(h.fake.counts.chat + h.fake.counts.messages, 0);
  });

  test('preflight from another origin is refused; from a listed origin it is answered', async () => {
    const bad = await request(h.url, {
      method: 'OPTIONS',
      path: '/v1/chat/completions',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    assert.equal(bad.status, 403);
    assert.equal(bad.headers['access-control-allow-origin'], undefined);
    assert.equal(bad.headers['access-control-allow-methods'], undefined);

    const good = await request(h.url, {
      method: 'OPTIONS',
      path: '/v1/chat/completions',
      headers: { origin: allowed, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    assert.equal(good.status, 204);
    assert.equal(good.headers['access-control-allow-origin'], allowed);
    assert.match(String(good.headers['access-control-allow-methods']), /POST/);
    assert.match(String(good.headers['access-control-allow-headers']), /authorization/);
    assert.match(String(good.headers.vary), /Origin/);
  });

  test('a listed origin gets its CORS header on the real request', async () => {
    const r = await request(h.url, { method: 'POST', path: '/v1/chat/completions', headers: { origin: allowed, 'content-type': 'application/json' }, body: CHAT_BODY });
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], allowed);
    assert.match(String(r.headers['access-control-expose-headers']), /x-request-id/);
  });

  test('simple content types (a page POSTing text/plain or a form, no preflight) get 415, even from no origin', async () => {
    h.fake.clear();
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      for (const path of ['/v1/chat/completions', '/admin/refresh', '/nowhere']) {
        const r = await request(h.url, { method: 'POST', path, headers: { 'content-type': type }, body: CHAT_BODY });
        assert.equal(r.status, 415, `${type} ${path}`);
        assertOpenAIError(r.json());
      }
    }
    const anth = await request(h.url, { method: 'POST', path: '/v1/messages', headers: { 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(anth.status, 415);
    assertAnthropicError(anth.json());
    assert.equal(h.fake.counts.chat, 0);
  });

  test('no-cors requests a browser marks cross-site (img, script, link) are refused', async () => {
    const r = await request(h.url, { path: '/debug/handles', headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' } });
    assert.equal(r.status, 403);
    const typed = await request(h.url, { path: '/v1/models', headers: { 'sec-fetch-site': 'none' } });
    assert.equal(typed.status, 200, 'a URL typed into the address bar is fine');
  });

  test('the dashboard\'s own POSTs (Origin = this server) pass, with no CORS header; the same origin on another host name does not', async () => {
    const port = new URL(h.url).port;
    const own = await request(h.url, { method: 'POST', path: '/admin/refresh', headers: { origin: `http://127.0.0.1:${port}`, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(own.status, 200);
    assert.equal(own.headers['access-control-allow-origin'], undefined);
    const plain = await request(h.url, { method: 'POST', path: '/admin/sign-in', headers: { origin: `http://127.0.0.1:${port}`, 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(plain.status, 415, 'same origin still may not send a simple content type');
    // localhost and 127.0.0.1 are different origins: a page on one is not the other.
    const other = await request(h.url, { method: 'POST', path: '/admin/refresh', headers: { origin: `http://localhost:${port}`, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(other.status, 403);
    assert.equal(isSameOrigin(`http://LOCALHOST:${port}/`, `localhost:${port}`), true);
    assert.equal(isSameOrigin(`http://localhost:${port}`, `localhost:${Number(port) + 1}`), false);
    assert.equal(isSameOrigin(`https://localhost:${port}`, `localhost:${port}`), false);
    assert.equal(isSameOrigin('null', `localhost:${port}`), false);
    assert.equal(isSameOrigin(`http://localhost:${port}`, undefined), false);
  });

  test('origins compare canonically', () => {
    assert.equal(normaliseOrigin('http://LOCALHOST:3000/'), 'http://localhost:3000');
    assert.equal(normaliseOrigin('https://a.example:443'), 'https://a.example');
    assert.equal(normaliseOrigin('null'), undefined);
  });
});
