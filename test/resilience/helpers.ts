import assert from 'node:assert/strict';
import net from 'node:net';
import type { Harness } from '../helpers/harness.ts';

export const MODEL = 'gpt-4.1';

export function chatBody(content: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }], ...extra });
}

/** POST /v1/chat/completions with fetch (raw status, headers and body). */
export function postChat(h: Harness, content: string, opts: { stream?: boolean; signal?: AbortSignal } = {}): Promise<Response> {
  return fetch(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: chatBody(content, opts.stream ? { stream: true } : {}),
    signal: opts.signal,
  });
}

export interface SseResult {
  /** Parsed `data:` payloads, `[DONE]` kept as the string. */
  events: unknown[];
  text: string;
  done: boolean;
  errors: Array<{ message: string; type?: string; code?: string | null }>;
  content: string;
}

/** Reads a whole SSE response (resolves only when the proxy closes it). */
export async function readSse(res: Response): Promise<SseResult> {
  const text = await res.text();
  const events: unknown[] = [];
  for (const block of text.split('\n\n')) {
    const data = block
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trimStart())
      .join('\n');
    if (!data) continue;
    events.push(data === '[DONE]' ? data : (JSON.parse(data) as unknown));
  }
  const errors: SseResult['errors'] = [];
  let content = '';
  for (const e of events) {
    if (typeof e !== 'object' || e === null) continue;
    if ('error' in e && typeof e.error === 'object' && e.error !== null && 'message' in e.error && typeof e.error.message === 'string') {
      const err = e.error as { message: string; type?: string; code?: string | null };
      errors.push(err);
    }
    if ('choices' in e && Array.isArray(e.choices)) {
      for (const c of e.choices as Array<{ delta?: { content?: string | null } }>) content += c.delta?.content ?? '';
    }
  }
  return { events, text, done: events.includes('[DONE]'), errors, content };
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) assert.fail(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface HealthJson {
  status: string;
  upstream: { circuit: string; inFlight: number; queued: number; retries: number; consecutiveFailures: number; circuitOpens: number };
}

export async function health(h: Harness): Promise<HealthJson> {
  const res = await fetch(`${h.url}/health`);
  assert.equal(res.status, 200);
  return (await res.json()) as HealthJson;
}

/**
 * The proxy is fine after a fault: no slot or queue entry leaked, the circuit is
 * closed, /health says ok, and a plain request and a stream both succeed.
 */
export async function assertHealthy(h: Harness): Promise<void> {
  h.fake.clearInjections();
  await waitFor('upstream slots released', () => h.proxy.ctx.gateway.state().inFlight === 0);
  assert.equal(h.proxy.ctx.gateway.state().queued, 0);
  const hb = await health(h);
  assert.equal(hb.upstream.circuit, 'closed');
  assert.equal(hb.status, 'ok');
  const r = await h.openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'still fine' }] });
  assert.equal(r.choices[0]?.message.content, 'Echo: still fine');
  const s = await readSse(await postChat(h, 'stream fine', { stream: true }));
  assert.equal(s.content, 'Echo: stream fine');
  assert.ok(s.done);
  assert.deepEqual(s.errors, []);
  await waitFor('upstream slots released after the health check', () => h.proxy.ctx.gateway.state().inFlight === 0);
}

/** A loopback port with nothing listening on it (connection refused). */
export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  assert.ok(addr && typeof addr === 'object');
  await new Promise<void>((r) => srv.close(() => r()));
  return addr.port;
}

/** A plain TCP forwarder from `port` to `targetPort` (to "bring up" an upstream on a port that refused). */
export async function forward(port: number, targetPort: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((client) => {
    const up = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(up);
    const drop = () => {
      client.destroy();
      up.destroy();
      sockets.delete(client);
      sockets.delete(up);
    };
    client.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
    client.pipe(up).pipe(client);
  });
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  return {
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}
