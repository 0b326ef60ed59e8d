import assert from 'node:assert/strict';
import net from 'node:net';
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
function stalledUpload(url: string, contentLength: number): Promise<net.Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname, () => {
      s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n\r\n{"model":"gpt-4.1","messages":[`);
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
});
