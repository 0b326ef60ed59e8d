/**
 * A lean Copilot stand-in for the load benchmarks (bench/load.ts), in its own
 * process, over TLS like the real one: the token exchange, /models, and
 * /chat/completions answered with the same bodies and stream quirks as the
 * test fake (test/fake-upstream/replies.ts builds them), but prepared once and
 * served with no checks, so the fake costs as little as possible and the same
 * for the direct baseline and the proxy.
 *
 *   node --import tsx bench/upstream.ts --cert c.pem --key k.pem
 * prints BENCH_UPSTREAM_URL=https://127.0.0.1:<port> once listening (`--port N`: that port;
 * bench/peers.ts takes 443 in its own network namespace, where the peers reach it by name).
 * POST /__bench/config {latencyMs, chunks, paceMs, stamp} sets how it answers:
 * `latencyMs` before the headers, `chunks` content events, `paceMs` between
 * events; with `stamp`, each content event carries its send time (ms, float)
 * as its text, for the per-event delay figures.
 */
import fs from 'node:fs';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { defaultModels } from '../test/fake-upstream/models.ts';
import { chatCompletionBody, chatStreamEvents, newChatMeta, type Conversation } from '../test/fake-upstream/replies.ts';
import { SSE_HEADERS } from '../test/fake-upstream/sse.ts';
import { LISTEN_BACKLOG } from '../src/proxy/server.ts';

function flag(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (!v) throw new Error(`bench upstream: --${name} is required`);
  return v;
}

interface Shape {
  latencyMs: number;
  chunks: number;
  paceMs: number;
  stamp: boolean;
}

const STAMP = '@@T@@';
const conversation: Conversation = { lastRole: 'user', lastUserText: 'bench', hasImage: false, hasTools: false, tools: [], userTexts: ['bench'], texts: ['bench'], messageCount: 1 };

/** The bodies for a shape, built once: a JSON completion and the SSE events of a stream. */
function prepare(shape: Shape): { json: string; events: string[] } {
  const meta = newChatMeta('gpt-4.1-2025-04-14', Date.now());
  const words = Array.from({ length: Math.max(1, shape.chunks) }, (_, i) => (shape.stamp ? STAMP : `w${i}`));
  const text = words.join(' ');
  return {
    json: JSON.stringify(chatCompletionBody(meta, conversation, { kind: 'text', text })),
    events: chatStreamEvents(meta, conversation, { kind: 'text', text }, { includeUsage: true, usageInFinishChunk: false }),
  };
}

let shape: Shape = { latencyMs: 0, chunks: 20, paceMs: 0, stamp: false };
let bodies = prepare(shape);
const models = JSON.stringify({ data: defaultModels(), object: 'list' });
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const server = https.createServer({ cert: fs.readFileSync(flag('cert')), key: fs.readFileSync(flag('key')), keepAlive: true }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => void answer(req.url ?? '/', req.method ?? 'GET', chunks, res));
});

async function answer(url: string, method: string, chunks: Buffer[], res: import('node:http').ServerResponse): Promise<void> {
  if (url === '/__bench/config' && method === 'POST') {
    const v: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof v === 'object' && v !== null) {
      const num = (k: string, d: number) => (Object.hasOwn(v, k) && typeof Reflect.get(v, k) === 'number' ? Number(Reflect.get(v, k)) : d);
      shape = { latencyMs: num('latencyMs', 0), chunks: num('chunks', 20), paceMs: num('paceMs', 0), stamp: Object.hasOwn(v, 'stamp') && Reflect.get(v, 'stamp') === true };
      bodies = prepare(shape);
    }
    res.writeHead(204).end();
    return;
  }
  if (url === '/copilot_internal/v2/token') {
    const now = Math.floor(Date.now() / 1000);
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ token: `tid=bench;exp=${now + 1800};sku=copilot_for_business_seat;proxy-ep=proxy.individual.githubcopilot.com`, expires_at: now + 1800, refresh_in: 1500, endpoints: { api: `https://127.0.0.1:${port()}` }, chat_enabled: true, sku: 'copilot_for_business_seat' }),
    );
    return;
  }
  if (url === '/user') {
    // copilot-api (bench/peers.ts) asks who signed in when it reads its token file.
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"login":"bench","id":1}');
    return;
  }
  if (url === '/models') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(models);
    return;
  }
  if (url !== '/chat/completions' || method !== 'POST') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
    return;
  }
  const { latencyMs, paceMs, stamp } = shape;
  const { json, events } = bodies;
  if (latencyMs > 0) await sleep(latencyMs);
  // Streaming is asked in the body (the proxy may reorder keys, but not add spaces).
  const wantsStream = Buffer.concat(chunks).includes('"stream":true');
  if (!wantsStream) {
    res.writeHead(200, { 'content-type': 'application/json' }).end(json);
    return;
  }
  res.writeHead(200, SSE_HEADERS);
  for (const ev of events) {
    if (res.destroyed) return;
    if (paceMs > 0 && ev.includes('"content":"')) await sleep(paceMs);
    res.write(stamp && ev.includes(STAMP) ? ev.replace(STAMP, (performance.timeOrigin + performance.now()).toFixed(3)) : ev);
  }
  res.end();
}

function port(): number {
  const a = server.address();
  return typeof a === 'object' && a ? a.port : 0;
}

// Copilot's front door does not drop connections in a burst: the proxy's backlog (the kernel caps it at somaxconn).
server.listen({ port: process.argv.includes('--port') ? Number(flag('port')) : 0, host: '127.0.0.1', backlog: LISTEN_BACKLOG }, () => process.stdout.write(`BENCH_UPSTREAM_URL=https://127.0.0.1:${port()}\n`));
for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, () => server.close(() => process.exit(0)));
