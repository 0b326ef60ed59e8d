import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import { onClientError } from './client-error.ts';

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
  let timer: NodeJS.Timeout | undefined;
  try {
    onClientError(Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket);
    await Promise.race([closed, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('the server socket was left open')), 3000)))]);
    assert.equal(socket.destroyed, true);
    await once(client, 'end');
    assert.match(received, /^HTTP\/1\.1 408 /);
    assert.match(received, /"code":"request_timeout"/);
  } finally {
    clearTimeout(timer);
    client.destroy();
    socket.destroy();
    server.close();
  }
});
