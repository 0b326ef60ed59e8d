import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clockCheck, doctorLines } from './doctor.ts';
import { proxyForUrl } from '../upstream/proxy-env.ts';

test('proxyForUrl: HTTPS_PROXY for https, HTTP_PROXY for http, NO_PROXY by host, suffix, port or *; either case', () => {
  assert.deepEqual(proxyForUrl('https://api.github.com', {}), { proxy: null, why: 'direct (no HTTP(S)_PROXY)', variable: null });
  assert.equal(proxyForUrl('https://api.github.com', { HTTPS_PROXY: 'http://p:3128' }).proxy, 'http://p:3128');
  assert.equal(proxyForUrl('https://api.github.com', { https_proxy: 'http://p:3128' }).proxy, 'http://p:3128');
  assert.equal(proxyForUrl('http://127.0.0.1:9', { HTTPS_PROXY: 'http://p:3128' }).proxy, null, 'HTTPS_PROXY is not for http');
  assert.equal(proxyForUrl('https://api.github.com', { HTTPS_PROXY: 'http://p', NO_PROXY: 'github.com' }).proxy, null);
  assert.equal(proxyForUrl('https://api.github.com', { HTTPS_PROXY: 'http://p', NO_PROXY: '.github.com' }).proxy, null);
  assert.equal(proxyForUrl('https://notgithub.com', { HTTPS_PROXY: 'http://p', NO_PROXY: 'github.com' }).proxy, 'http://p');
  assert.equal(proxyForUrl('https://api.github.com', { HTTPS_PROXY: 'http://p', NO_PROXY: 'github.com:8443' }).proxy, 'http://p', 'another port');
  assert.equal(proxyForUrl('https://x.y', { HTTPS_PROXY: 'http://p', NO_PROXY: '*' }).proxy, null);
  assert.match(proxyForUrl('https://x.y', { HTTPS_PROXY: 'http://u:pw@p:1' }).why, /u:\*\*\*@p:1/);
  // undici's precedence: the lower-case name first, an empty one included; an empty HTTPS proxy falls back to HTTP_PROXY.
  assert.deepEqual(proxyForUrl('https://x.y', { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:1' }), { proxy: 'http://lower:1', why: 'through http://lower:1 (https_proxy)', variable: 'https_proxy' });
  assert.equal(proxyForUrl('https://x.y', { HTTP_PROXY: 'http://h:1' }).variable, 'HTTP_PROXY', 'the variable the hint names');
  assert.equal(proxyForUrl('http://x.y', { http_proxy: '', HTTP_PROXY: 'http://upper:1' }).proxy, null);
  assert.equal(proxyForUrl('https://x.y', { https_proxy: '', HTTP_PROXY: 'http://h:1' }).proxy, 'http://h:1');
  assert.equal(proxyForUrl('https://x.y', { HTTPS_PROXY: 'http://p', no_proxy: '', NO_PROXY: '*' }).proxy, 'http://p');
});

test('clockCheck: within 30 s ok, past it a warning, past 2 min a failure; doctorLines ends with the tally', () => {
  const now = Date.parse('2026-12-03T08:00:00Z');
  assert.equal(clockCheck('Thu, 03 Dec 2026 08:00:10 GMT', now).state, 'ok');
  assert.equal(clockCheck('Thu, 03 Dec 2026 08:01:00 GMT', now).state, 'warn');
  assert.equal(clockCheck('Thu, 03 Dec 2026 08:10:00 GMT', now).text, 'Clock: 600 s behind GitHub');
  assert.equal(clockCheck('Thu, 03 Dec 2026 08:10:00 GMT', now).state, 'fail');
  assert.equal(clockCheck(null, now).state, 'skip');
  const lines = doctorLines([
    { id: 'a', state: 'ok', text: 'A', fix: null },
    { id: 'b', state: 'fail', text: 'B', fix: 'do b' },
    { id: 'c', state: 'warn', text: 'C', fix: 'do c' },
  ]);
  assert.deepEqual(lines, ['✅ A', '❌ B', '   fix: do b', '⚠️  C', '   fix: do c', '1 check failed, 1 warning.']);
});
