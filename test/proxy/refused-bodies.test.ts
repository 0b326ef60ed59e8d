import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { drainLimits } from '../../src/proxy/create-app.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';

/**
 * A body refused before it is read (past max_body_bytes, here 64 KiB): the
 * client gets the 413, not a reset. The SDKs send their whole body before they
 * read an answer; when the proxy closed the connection with the body still
 * coming, the kernel reset it and the OpenAI SDK said "Connection error." for
 * an 8 MB body (and retried it). The rest of the body is read and dropped,
 * within limits (drainLimits).
 */
const KiB = 1024;

/** A raw connection: `head` written (a request's headers, maybe some body); everything the proxy sends back is collected. */
function rawRequest(url: string, head: (host: string) => string): { socket: net.Socket; received: () => string; closed: Promise<number> } {
  const u = new URL(url);
  const started = Date.now();
  const socket = net.connect(Number(u.port), u.hostname);
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  socket.on('error', () => undefined);
  socket.write(head(u.host));
  return { socket, received: () => text, closed: new Promise((resolve) => socket.on('close', () => resolve(Date.now() - started))) };
}

/** A raw POST: headers, then `first` of the body. */
function rawUpload(url: string, contentLength: number, first: string): ReturnType<typeof rawRequest> {
  return rawRequest(url, (host) => `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${contentLength}\r\n\r\n${first}`);
}

/** Five rounds of the three clients, each sending an 8 MB body; what each got, as JSON on stdout. */
const CLIENTS = `
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
const url = process.argv[1];
const big = 'x'.repeat(8 * 1024 * 1024);
const openai = new OpenAI({ baseURL: url + '/v1', apiKey: 'unused', maxRetries: 0 });
const anthropic = new Anthropic({ baseURL: url, apiKey: 'unused', maxRetries: 0 });
const said = (who, e) => who + ' ' + (e && typeof e.status === 'number' ? e.status : 'no status: ' + String(e));
const rounds = [];
for (let i = 0; i < 5; i++) {
  const o = await openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: big }] }).then(() => 'openai 200', (e) => said('openai', e) + (/Request body is too large/.test(String(e.message)) ? ' Request body is too large' : ''));
  const a = await anthropic.messages.create({ model: 'claude-sonnet-4', max_tokens: 5, messages: [{ role: 'user', content: big }] }).then(() => 'anthropic 200', (e) => said('anthropic', e));
  const f = await fetch(url + '/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: big }] }) })
    .then(async (r) => 'fetch ' + r.status + (/request_too_large/.test(await r.text()) ? ' request_too_large' : ''), (e) => 'fetch ' + String(e.cause && e.cause.code || e));
  rounds.push([o, a, f]);
}
process.stdout.write(JSON.stringify(rounds));
`;

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a body refused before it is read: the client gets the answer, not a reset', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { max_body_bytes: 64 * KiB, timeouts: { server_read: 2 } } });
  });
  after(async () => h.close());

  test('the OpenAI SDK, the Anthropic SDK and fetch, in a process of their own, get the 413 and its message for an 8 MB body, every time', async () => {
    // A client process of its own, as users run them: in the proxy's own process the timing hid the reset.
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', CLIENTS, h.url], { cwd: process.cwd(), encoding: 'utf8', timeout: 60_000 });
    const answers: unknown = JSON.parse(stdout);
    assert.deepEqual(answers, Array.from({ length: 5 }, () => ['openai 413 Request body is too large', 'anthropic 413', 'fetch 413 request_too_large']));
    const health = await fetch(`${h.url}/health`);
    assert.equal(health.status, 200);
  });

  test('after the rest is read, the same connection serves the next request', async () => {
    const body = JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x'.repeat(200 * KiB) }] });
    const up = rawUpload(h.url, Buffer.byteLength(body), body);
    await until(() => /HTTP\/1\.1 413/.test(up.received()), 5000);
    assert.doesNotMatch(up.received(), /connection: close/i);
    up.socket.write(`GET /health HTTP/1.1\r\nHost: ${new URL(h.url).host}\r\n\r\n`);
    await until(() => /HTTP\/1\.1 200/.test(up.received()), 5000);
    up.socket.destroy();
  });

  test('a client that stops sending is cut once the drain time is up (at most 5 s, ending 1 s before server_read), after its answer', async () => {
    const limits = drainLimits(2, 0);
    assert.equal(limits.ms, 1000);
    const up = rawUpload(h.url, 1024 * KiB, '{"model":"gpt-4.1","messages":[');
    await until(() => /HTTP\/1\.1 413/.test(up.received()), 5000);
    const closedAfter = await up.closed;
    // Cut by the drain (1 s), not by Node's server_read (2 s, checked every 2 s), which now closes silently too.
    assert.ok(closedAfter >= 900 && closedAfter < 1990, `closed after ${closedAfter} ms`);
    assert.doesNotMatch(up.received(), /408/, 'no second answer');
  });

  test('a body sent to a route that reads none (GET /health), then stalled: the 200, then the cut after the drain time, no second answer', async () => {
    const up = rawRequest(h.url, (host) => `GET /health HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${1024 * KiB}\r\n\r\n${'x'.repeat(1000)}`);
    const closedAfter = await up.closed;
    assert.match(up.received(), /^HTTP\/1\.1 200 /);
    assert.equal(up.received().match(/HTTP\/1\.1 /g)?.length, 1, `one answer: ${up.received().slice(0, 600)}`);
    assert.ok(closedAfter >= 900 && closedAfter < 1990, `closed after ${closedAfter} ms`);
  });

  test('a body declared over 64 MiB on a route that reads none (GET /health): the 200 with connection: close, not 64 MiB read and more', async () => {
    const limits = drainLimits(2, 0);
    const up = rawRequest(h.url, (host) => `GET /health HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${limits.bytes + 1}\r\n\r\n${'x'.repeat(1000)}`);
    await until(() => /HTTP\/1\.1 200/.test(up.received()), 5000);
    assert.match(up.received(), /connection: close/i);
    const closedAfter = await up.closed;
    assert.ok(closedAfter < limits.ms - 100, `closed after ${closedAfter} ms`);
  });

  test('a body declared longer than the drain reads is answered with connection: close at once', async () => {
    const limits = drainLimits(2, 0);
    const up = rawUpload(h.url, limits.bytes + 1, '{"model":"gpt-4.1","messages":[');
    await until(() => /HTTP\/1\.1 413/.test(up.received()), 5000);
    assert.match(up.received(), /connection: close/i);
    const closedAfter = await up.closed;
    assert.ok(closedAfter < limits.ms - 100, `closed after ${closedAfter} ms, not by the drain's cut`);
  });
});

describe('a body refused late, close to server_read: never a second answer', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { max_body_bytes: 64 * KiB, timeouts: { server_read: 10 } } });
  });
  after(async () => h.close());

  test('refused 8.5 s into a 10 s server_read, the connection ends before server_read runs out, with the 413 as its only answer (Node would add its own 408)', async () => {
    assert.equal(drainLimits(10, 8500).ms, 500);
    assert.ok(drainLimits(10, 9500).ms < 200, 'no time left: closed at once');
    const up = rawRequest(h.url, (host) => `POST /v1/chat/completions HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const { socket, closed } = up;
    const chunk = (body: string) => (socket.destroyed ? undefined : socket.write(`${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n`));
    chunk('{"model":"gpt-4.1","messages":[{"role":"user","content":"');
    // A slow body under the limit for 8.5 s, then past it, then still coming.
    const trickle = setInterval(() => chunk('x'.repeat(64)), 250);
    await new Promise((r) => setTimeout(r, 8500));
    chunk('x'.repeat(70 * KiB));
    const closedAfter = await closed;
    clearInterval(trickle);
    assert.match(up.received(), /^HTTP\/1\.1 413 /);
    assert.equal(up.received().match(/HTTP\/1\.1 /g)?.length, 1, `one answer: ${up.received().slice(0, 400)}`);
    assert.ok(closedAfter < 10_000, `closed ${closedAfter} ms after the request began`);
  });
});
