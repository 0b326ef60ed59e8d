/**
 * The floor of each layer the proxy is built on: the least a proxy of
 * /v1/chat/completions can cost with that layer, doing nothing else (no
 * validation, no normalising, no logging, no metrics). bench/load.ts runs each
 * as its own process under the same load as the real proxy and reports its
 * CPU per request beside the app's.
 *
 *   node bench/floor-proxy.ts <kind> <upstream https url>
 *   kind: node      node:http in, node:https (keep-alive agent) out, bodies piped
 *         undici    node:http in, undici Pool out (as the app), bodies piped
 *         express   express + express.json() in, undici Pool out, the body parsed and re-serialised
 * Prints FLOOR_URL=http://127.0.0.1:<port> once listening.
 */
import http from 'node:http';
import https from 'node:https';
import express from 'express';
import { Pool } from 'undici';

const [kind, upstream] = process.argv.slice(2);
if (!kind || !upstream || !['node', 'undici', 'express'].includes(kind)) {
  process.stderr.write('usage: floor-proxy.ts node|undici|express <upstream url>\n');
  process.exit(2);
}
const target = new URL('/chat/completions', upstream);
const pool = new Pool(upstream, { connections: 128, pipelining: 1 });
const agent = new https.Agent({ keepAlive: true, maxSockets: 128 });

function viaNode(req: http.IncomingMessage, res: http.ServerResponse): void {
  const up = https.request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: 'Bearer floor' } }, (ur) => {
    res.writeHead(ur.statusCode ?? 502, { 'content-type': ur.headers['content-type'] ?? 'application/json' });
    ur.pipe(res);
  });
  up.on('error', () => res.destroy());
  req.pipe(up);
}

async function viaUndici(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  try {
    const r = await pool.request({ path: '/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer floor' }, body: req });
    res.writeHead(r.statusCode, { 'content-type': String(r.headers['content-type'] ?? 'application/json') });
    for await (const chunk of r.body) res.write(chunk);
    res.end();
  } catch {
    res.destroy();
  }
}

let server: http.Server;
if (kind === 'express') {
  const app = express();
  app.use(express.json({ limit: 5 * 1024 * 1024 }));
  app.post('/v1/chat/completions', async (req, res) => {
    try {
      const r = await pool.request({ path: '/chat/completions', method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer floor' }, body: JSON.stringify(req.body) });
      res.status(r.statusCode).setHeader('content-type', String(r.headers['content-type'] ?? 'application/json'));
      for await (const chunk of r.body) res.write(chunk);
      res.end();
    } catch {
      res.destroy();
    }
  });
  server = http.createServer(app);
} else {
  server = http.createServer((req, res) => (kind === 'node' ? viaNode(req, res) : void viaUndici(req, res)));
}
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`FLOOR_URL=http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
