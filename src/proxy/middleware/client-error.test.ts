import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import { createHttpServer, drainUnread, type ProxyServer, type RequestListener } from '../http.ts';
import { hardenServer, onClientError } from './client-error.ts';
import { eitherErrorBody } from './errors.ts';

test('a client error is answered and its socket destroyed, even when the peer keeps its side open (#20: a 408 no longer holds the socket and its body budget)', async () => {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  const accepted = once(server, 'connection');
  // A peer that never closes its side (half-open allowed), like a client still sending a slow body.
  const client = net.connect({ port: address.port, host: '127.0.0.1', allowHalfOpen: true });
  const [socket] = (await accepted) as [net.Socket];
  let received = '';
  client.on('data', (d: Buffer) => (received += d.toString()));
  const closed = once(socket, 'close');
  const ended = once(client, 'end');
  let timer: NodeJS.Timeout | undefined;
  try {
    onClientError(Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket);
    await Promise.race([closed, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('the server socket was left open')), 3000)))]);
    assert.equal(socket.destroyed, true);
    await ended;
    assert.match(received, /^HTTP\/1\.1 408 /);
    assert.match(received, /"code":"request_timeout"/);
  } finally {
    clearTimeout(timer);
    client.destroy();
    socket.destroy();
    server.close();
  }
});

/** A hardened server whose server_read is 1 s, checked every 100 ms (Node's own timeout, soon). */
async function oneSecondServer(listener: RequestListener): Promise<{ server: ProxyServer; port: number }> {
  const server = createHttpServer(listener, { connectionsCheckingInterval: 100 });
  server.requestTimeout = 1000;
  server.headersTimeout = 1000;
  hardenServer(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { server, port: address.port };
}

test('a request answered before its body was read, still sending when server_read runs out, is closed with no second answer (Node would add a 408)', async () => {
  // Node's own timeout after 1 s; the drain would read for 5 s more.
  const { server, port } = await oneSecondServer((req, res) => {
    res.writeHead(413, { 'content-type': 'application/json', 'content-length': '2' });
    res.end('{}');
    drainUnread(req, { bytes: 64 * 1024 * 1024, ms: 5000 });
  });
  const client = net.connect({ port, host: '127.0.0.1' });
  let received = '';
  client.on('data', (d: Buffer) => (received += d.toString('latin1')));
  client.on('error', () => undefined);
  const started = Date.now();
  const closed = once(client, 'close');
  client.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n{"model":`);
  const trickle = setInterval(() => client.write('x'.repeat(100)), 100);
  try {
    await closed;
    const after = Date.now() - started;
    assert.match(received, /^HTTP\/1\.1 413 /);
    assert.equal(received.match(/HTTP\/1\.1 /g)?.length, 1, `one answer: ${received}`);
    assert.ok(after >= 900 && after < 4000, `closed by server_read, ${after} ms in`);
  } finally {
    clearInterval(trickle);
    client.destroy();
    server.close();
  }
});

test('a client error is answered in one body that both SDKs read as their own (Anthropic\'s envelope with OpenAI\'s fields): its path cannot be known', () => {
  const p = { status: 431, message: 'Request headers are too large', code: 'headers_too_large', param: null };
  assert.deepEqual(eitherErrorBody(p), { type: 'error', error: { type: 'invalid_request_error', message: 'Request headers are too large', code: 'headers_too_large', param: null } });
  assert.deepEqual(eitherErrorBody({ ...p, status: 413 }).error, { type: 'request_too_large', message: 'Request headers are too large', code: 'headers_too_large', param: null });
});

test('after a 408 (server_read ran out) the connection serves nothing more: the rest of a late request never reaches the app (and Copilot)', async () => {
  let served = 0;
  const { server, port } = await oneSecondServer((_req, res) => {
    served += 1;
    res.end('{}');
  });
  // A client still sending when the 408 comes (its side stays open after the proxy's FIN).
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  let received = '';
  client.on('data', (d: Buffer) => (received += d.toString('latin1')));
  client.on('error', () => undefined);
  const closed = once(client, 'close');
  try {
    client.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    // The headers end only after the timeout's answer.
    await new Promise((r) => setTimeout(r, 1500));
    if (!client.destroyed) client.write('Content-Length: 2\r\n\r\n{}');
    await Promise.race([closed, new Promise((r) => setTimeout(r, 1500))]);
    await new Promise((r) => setTimeout(r, 200));
    assert.match(received, /^HTTP\/1\.1 408 /);
    assert.equal(served, 0, 'no request served after the 408');
  } finally {
    client.destroy();
    server.close();
  }
});

/** Raw bytes to a server, in parts `gapMs` apart; what came back when the server closed. */
async function sendInParts(port: number, parts: string[], gapMs: number): Promise<string> {
  const client = net.connect({ port, host: '127.0.0.1' });
  let received = '';
  client.on('data', (d: Buffer) => (received += d.toString('latin1')));
  client.on('error', () => undefined);
  const closed = once(client, 'close');
  for (const part of parts) {
    if (!client.writable) break;
    client.write(part);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  await closed;
  return received;
}

test('an Anthropic caller reads its error when long headers fail in a later read (431; stop 34\'s CI failure) and when its body is too slow (408)', async () => {
  const { server, port } = await oneSecondServer((req, res) => req.resume().on('end', () => res.end('{}')));
  try {
    const line = 'POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n';
    // The request line and 10 KiB in one read, 10 KiB more in the next: the parser fails on the second.
    const big = await sendInParts(port, [`${line}x-big: ${'v'.repeat(10_000)}`, `${'v'.repeat(10_000)}\r\n\r\n{}`], 150);
    assert.match(big, /^HTTP\/1\.1 431 /);
    const bigBody: unknown = JSON.parse(big.slice(big.indexOf('\r\n\r\n') + 4));
    assert.ok(isRecord(bigBody) && bigBody.type === 'error' && isRecord(bigBody.error) && typeof bigBody.error.message === 'string', big);
    // Headers whole, the body stalls: the request in flight names the path.
    const slow = await sendInParts(port, [`${line}content-length: 100\r\n\r\n{"model":`], 1500);
    assert.match(slow, /^HTTP\/1\.1 408 /);
    assert.deepEqual(JSON.parse(slow.slice(slow.indexOf('\r\n\r\n') + 4)), { type: 'error', error: { type: 'invalid_request_error', message: 'The request took too long to arrive', code: 'request_timeout', param: null } });
  } finally {
    server.close();
  }
});

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The answers in `raw`, in order: status and body (Content-Length framed). */
function answers(raw: string): Array<{ status: number; body: string }> {
  const out: Array<{ status: number; body: string }> = [];
  let rest = raw;
  for (;;) {
    const m = /^HTTP\/1\.1 (\d{3}) [^\r]*\r\n([\s\S]*?)\r\n\r\n/.exec(rest);
    if (!m) return out;
    const length = Number(/content-length: (\d+)/i.exec(m[2] ?? '')?.[1] ?? 0);
    const start = m[0].length;
    out.push({ status: Number(m[1]), body: rest.slice(start, start + length) });
    rest = rest.slice(start + length);
  }
}

test('bytes that fail after a whole request (pipelined garbage, headers too long) are answered after that request\'s answer, not as it', async () => {
  let served = 0;
  const { server, port } = await oneSecondServer((req, res) => {
    served += 1;
    req.resume().on('end', () => setTimeout(() => res.end(JSON.stringify({ answer: req.url })), 200));
  });
  try {
    const line = (p: string) => `POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`;
    for (const later of ['\x00\x01garbage\r\n\r\n', `POST /v1/messages HTTP/1.1\r\nx-big: ${'v'.repeat(20_000)}\r\n\r\n`]) {
      served = 0;
      const got = answers(await sendInParts(port, [line('/one') + line('/two') + later], 600));
      assert.deepEqual(got.map((a) => a.status), [200, 200, later.startsWith('POST') ? 431 : 400], JSON.stringify(got));
      assert.deepEqual(got.slice(0, 2).map((a) => a.body), ['{"answer":"/one"}', '{"answer":"/two"}']);
      assert.equal(served, 2);
    }
  } finally {
    server.close();
  }
});

test('garbage sent while an answer streams leaves the stream whole; the error follows it', async () => {
  const { server, port } = await oneSecondServer((req, res) => {
    req.resume().on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-length': '33' });
      res.write('data: one\n\n');
      setTimeout(() => res.end('data: two\n\ndata: end\n\n'), 400);
    });
  });
  try {
    const head = 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}';
    const got = answers(await sendInParts(port, [head, '\x00garbage\r\n\r\n'], 150));
    assert.deepEqual(got.map((a) => a.status), [200, 400]);
    assert.equal(got[0]?.body, 'data: one\n\ndata: two\n\ndata: end\n\n');
  } finally {
    server.close();
  }
});
