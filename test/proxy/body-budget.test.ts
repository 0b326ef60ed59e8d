import assert from 'node:assert/strict';
import net from 'node:net';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from '../helpers/harness.ts';

/**
 * max_inflight_body_bytes through the real proxy: a body's declared size is
 * reserved before it is read, so a request past the budget is answered 429
 * (queue full) without its body being read, and the budget comes back when the
 * request holding it ends.
 */
const MiB = 1024 * 1024;

/** Headers and the first part of a body that then stalls: the request holds its reservation while its body is read. */
function stalledUpload(url: string, contentLength: number, opts: { method?: string; path?: string; headers?: string; first?: Buffer } = {}): Promise<net.Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname, () => {
      s.write(
        `${opts.method ?? 'POST'} ${opts.path ?? '/v1/chat/completions'} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\n${opts.headers ?? ''}Content-Length: ${contentLength}\r\n\r\n`,
      );
      s.write(opts.first ?? '{"model":"gpt-4.1","messages":[');
      resolve(s);
    });
    s.on('error', reject);
  });
}

async function post(url: string, body: string): Promise<{ status: number; retryAfter: string | null; body: string }> {
  const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.text() };
}

describe('request-body budget (max_inflight_body_bytes)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { max_inflight_body_bytes: MiB, max_queue: 0 } });
  });
  after(async () => h.close());

  test('past the budget a request is refused 429 before its body is read; the budget returns when the holder ends', async () => {
    const big = JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x'.repeat(600 * 1024) }] });
    const holder = await stalledUpload(h.url, 700 * 1024);
    try {
      // Give the proxy a moment to take the holder's reservation.
      await new Promise((r) => setTimeout(r, 200));
      const refused = await post(h.url, big);
      assert.equal(refused.status, 429, refused.body);
      assert.equal(refused.retryAfter, '1');
      assert.match(refused.body, /"code":"rate_limited"/);
      // A small request still fits beside the holder.
      const small = await post(h.url, JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'small' }] }));
      assert.equal(small.status, 200, small.body);
    } finally {
      holder.destroy();
    }
    // The holder went away: its reservation is back.
    let after = await post(h.url, big);
    for (let i = 0; i < 20 && after.status === 429; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await post(h.url, big);
    }
    assert.equal(after.status, 200, after.body);
  });

  /** Posts `big` until the budget has room again (a closed holder's release comes a moment after its close). */
  async function postWhenFree(big: string): Promise<{ status: number; body: string }> {
    let r = await post(h.url, big);
    for (let i = 0; i < 20 && r.status === 429; i++) {
      await new Promise((res) => setTimeout(res, 50));
      r = await post(h.url, big);
    }
    return r;
  }

  test('a compressed body reserves the largest body allowed, whatever its length on the wire (#20: brotli bombs took RSS to 5.7 GB)', async () => {
    const small = JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'small' }] });
    const gz = zlib.gzipSync(Buffer.alloc(MiB, 0x20));
    const holder = await stalledUpload(h.url, gz.length, { headers: 'Content-Encoding: gzip\r\n', first: gz.subarray(0, 16) });
    try {
      await new Promise((r) => setTimeout(r, 200));
      const refused = await post(h.url, small);
      assert.equal(refused.status, 429, `a ${gz.length}-byte gzip body holds the whole 1 MiB budget: ${refused.body}`);
    } finally {
      holder.destroy();
    }
    assert.equal((await postWhenFree(small)).status, 200);
  });

  test('a chunked or compressed body, once read, holds only the bytes it took: a stream in flight with a small body keeps nobody out (the red team held every model route with seven)', async () => {
    const big = JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x'.repeat(600 * 1024) }] });
    const small = JSON.stringify({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const bodies: Array<[string, () => RequestInit]> = [
      ['chunked', () => ({ headers: { 'content-type': 'application/json' }, body: new Blob([small]).stream(), duplex: 'half' }) as RequestInit],
      ['gzip', () => ({ headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: zlib.gzipSync(small) })],
    ];
    for (const [what, init] of bodies) {
      // A stream whose upstream goes silent after its headers: it stays in flight.
      h.fake.faultNext(1, 'silence-after-headers', { path: '/chat/completions' });
      const ac = new AbortController();
      const stream = fetch(`${h.url}/v1/chat/completions`, { method: 'POST', ...init(), signal: ac.signal });
      try {
        assert.equal((await stream).status, 200, what);
        // Before, it held its worst case (here the whole 1 MiB budget) until it ended: this got 429.
        const beside = await post(h.url, big);
        assert.equal(beside.status, 200, `${what}: ${beside.body}`);
      } finally {
        ac.abort();
        await stream.then((r) => r.body?.cancel()).catch(() => undefined);
      }
      // Its release comes a moment after the close.
      assert.equal((await postWhenFree(big)).status, 200);
    }
  });

  test('a body on a route that takes none is never read and reserves nothing (#20: GET /health with br bodies took RSS to 2.9 GB)', async () => {
    const big = JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x'.repeat(600 * 1024) }] });
    const br = zlib.brotliCompressSync(Buffer.alloc(4 * MiB, 0x20));
    const holders = await Promise.all(
      ['/health', '/v1/models', '/admin/refresh'].map((path) =>
        stalledUpload(h.url, 700 * 1024, { method: path === '/admin/refresh' ? 'POST' : 'GET', path, headers: 'Content-Encoding: br\r\n', first: br }),
      ),
    );
    try {
      await new Promise((r) => setTimeout(r, 200));
      const beside = await post(h.url, big);
      assert.equal(beside.status, 200, `bodies nobody reads hold no budget: ${beside.body}`);
    } finally {
      for (const s of holders) s.destroy();
    }
  });
});

describe('timeouts.server_read bounds how long a body may hold its budget', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { max_inflight_body_bytes: MiB, max_queue: 0, timeouts: { server_read: 2 } } });
  });
  after(async () => h.close());

  test('an upload that stalls is cut with a 408 JSON answer about server_read after its 2 s, not up to 30 s later (Node looks every 30 s unless told), and its budget is back', async () => {
    const started = Date.now();
    const holder = await stalledUpload(h.url, 700 * 1024);
    let got = '';
    holder.setEncoding('latin1');
    holder.on('data', (d: string) => (got += d));
    await new Promise<void>((resolve) => holder.once('close', () => resolve()));
    const took = Date.now() - started;
    assert.match(got, /^HTTP\/1\.1 408 /, got.slice(0, 200));
    assert.match(got, /"code":"request_timeout"/);
    // server_read plus at most one check interval (2 s here), with room for a slow machine.
    assert.ok(took >= 1900 && took < 8000, `cut after ${took} ms (was ~30,000 with Node's default check)`);
    const big = JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x'.repeat(600 * 1024) }] });
    assert.equal((await post(h.url, big)).status, 200);
  });
});
