import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import { createHttpServer, drainUnread, type ProxyServer, type RequestListener } from '../http.ts';
import { clientErrorBody, hardenServer, onClientError, pathFromRaw } from './client-error.ts';

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

test('the error shape follows the failed request line, also when the packet began with the last request\'s body (keep-alive)', () => {
  assert.equal(pathFromRaw(Buffer.from('POST /v1/messages HTTP/1.1\r\nx-big: vvvv')), '/v1/messages');
  assert.equal(pathFromRaw(Buffer.from('{"model":"gpt-4.1","pad":"pppp"}POST /v1/messages/count_tokens HTTP/1.1\r\nHost: a\r\nx-big: vvvv')), '/v1/messages/count_tokens');
  assert.equal(pathFromRaw(Buffer.from('"}POST /v1/messages?beta=true HTTP/1.1\r\nx-big: vvvv')), '/v1/messages');
  assert.equal(pathFromRaw(Buffer.from('\x00\x01garbage')), undefined);
  assert.equal(pathFromRaw(undefined), undefined);
  // A later read of long headers, with no request line: the CI failure of stop 34.
  assert.equal(pathFromRaw(Buffer.from('vvvvvvvvvvvvvvvv\r\nx-more: vvvv')), undefined);
});

test('with no path to go by, the error body is one that both SDKs read as their own (Anthropic\'s envelope with OpenAI\'s fields)', () => {
  const p = { status: 431, message: 'Request headers are too large', code: 'headers_too_large', param: null };
  assert.deepEqual(clientErrorBody(p, undefined), { type: 'error', error: { type: 'invalid_request_error', message: 'Request headers are too large', code: 'headers_too_large', param: null } });
  assert.deepEqual(clientErrorBody(p, '/v1/messages'), { type: 'error', error: { type: 'invalid_request_error', message: 'Request headers are too large' } });
  assert.deepEqual(clientErrorBody(p, '/v1/chat/completions'), { error: { type: 'invalid_request_error', message: 'Request headers are too large', code: 'headers_too_large', param: null } });
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

test('an Anthropic caller gets its own error shape when long headers fail in a later read (431) and when its body is too slow (408)', async () => {
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
    assert.deepEqual(JSON.parse(slow.slice(slow.indexOf('\r\n\r\n') + 4)), { type: 'error', error: { type: 'invalid_request_error', message: 'The request took too long to arrive' } });
  } finally {
    server.close();
  }
});

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
