import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import OpenAI from 'openai';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/index.ts';
import { startCli } from '../helpers/cli.ts';
import { fakeEnv, tempHome } from '../helpers/harness.ts';
import { assertAnthropicError, assertOpenAIError } from './util.ts';

/**
 * Input hardening: thousands of generated bad requests against the real `run`
 * process (a crash there cannot hide inside the test process). Each must get a
 * 4xx in the caller's error shape; afterwards the process is alive and a
 * valid request still succeeds.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 5000);
const MAX_BODY = 64 * 1024;

type Shape = 'openai' | 'anthropic';
const shapeOf = (p: string): Shape => (/^\/(v1\/)?messages(\/|$|\?)/.test(p) ? 'anthropic' : 'openai');

interface HttpCase {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}
interface RawCase {
  kind: string;
  raw: Buffer;
  path: string;
}
type Case = HttpCase | RawCase;

/** Counterexamples print as a line, not a megabyte of buffer bytes; FUZZ_SEED + the path reproduce the full case. */
function describeCase(c: Case): string {
  const bytes = 'raw' in c ? c.raw : c.body;
  const head = bytes ? JSON.stringify(bytes.subarray(0, 160).toString('latin1')) : '';
  return 'raw' in c ? `raw ${c.kind}: ${head} (${c.raw.length} bytes)` : `${c.kind}: ${c.method} ${c.path} body ${head}${bytes ? ` (${bytes.length} bytes)` : ''}`;
}

// ---- bodies, and the JSON type each field must have ----

type JsonType = 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object';
const ALL_TYPES: readonly JsonType[] = ['string', 'number', 'boolean', 'null', 'array', 'object'];

interface Route {
  path: string;
  base: () => Record<string, unknown>;
  /** field path -> the JSON types it accepts; anything else must be a 400. */
  fields: Array<[Array<string | number>, readonly JsonType[]]>;
}

const ROUTES: Route[] = [
  {
    path: '/v1/chat/completions',
    base: () => ({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], stream: false, stream_options: { include_usage: true } }),
    fields: [
      [['model'], ['string']],
      [['messages'], ['array']],
      [['messages', 0], ['object']],
      [['messages', 0, 'role'], ['string']],
      [['messages', 0, 'content'], ['string', 'array', 'null']],
      [['stream'], ['boolean', 'null']],
      [['stream_options'], ['object', 'null']],
      [['stream_options', 'include_usage'], ['boolean', 'null']],
    ],
  },
  {
    path: '/v1/messages',
    base: () => ({ model: 'claude-sonnet-4', max_tokens: 16, system: 'be brief', messages: [{ role: 'user', content: 'hi' }], stream: false }),
    fields: [
      [['model'], ['string']],
      [['messages'], ['array']],
      [['messages', 0], ['object']],
      [['messages', 0, 'role'], ['string']],
      [['messages', 0, 'content'], ['string', 'array']],
      [['system'], ['string', 'array', 'null']],
      [['max_tokens'], ['number', 'null']],
      [['stream'], ['boolean', 'null']],
      [['tools'], ['array', 'null']],
    ],
  },
  {
    path: '/v1/responses',
    base: () => ({ model: 'gpt-5.1-codex', input: [{ role: 'user', content: 'hi' }], stream: false }),
    fields: [
      [['model'], ['string']],
      [['input'], ['string', 'array']],
      [['input', 0], ['object']],
      [['stream'], ['boolean', 'null']],
    ],
  },
];

const leaf = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null));
const valueOf: Record<JsonType, fc.Arbitrary<unknown>> = {
  string: fc.string({ maxLength: 40 }),
  // JSON has no NaN/Infinity (JSON.stringify would turn them into null, a different type).
  number: fc.double({ noNaN: true, noDefaultInfinity: true }),
  boolean: fc.boolean(),
  null: fc.constant(null),
  array: fc.array(leaf, { maxLength: 4 }),
  object: fc.dictionary(fc.string({ maxLength: 8 }), leaf, { maxKeys: 4 }),
};

function setAt(obj: Record<string, unknown>, p: Array<string | number>, v: unknown): void {
  let cur: unknown = obj;
  for (const k of p.slice(0, -1)) cur = (cur as Record<string | number, unknown>)[k];
  (cur as Record<string | number, unknown>)[p[p.length - 1] as string | number] = v;
}
function deleteAt(obj: Record<string, unknown>, p: Array<string | number>): void {
  let cur: unknown = obj;
  for (const k of p.slice(0, -1)) cur = (cur as Record<string | number, unknown>)[k];
  delete (cur as Record<string | number, unknown>)[p[p.length - 1] as string | number];
}

const JSON_HEADERS = { 'content-type': 'application/json' };
const routeArb = fc.constantFrom(...ROUTES);
const anyPostPath = fc.constantFrom(...ROUTES.map((r) => r.path), '/chat/completions', '/messages', '/v1/embeddings', '/v1/messages/count_tokens');
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

const wrongType: fc.Arbitrary<Case> = routeArb
  .chain((route) => fc.constantFrom(...route.fields).map((f) => ({ route, f })))
  .chain(({ route, f }) => {
    const [field, allowed] = f;
    const wrong = ALL_TYPES.filter((t) => !allowed.includes(t));
    return fc.constantFrom(...wrong).chain((t) => valueOf[t]).map((v): Case => {
      const body = route.base();
      setAt(body, field, v);
      return { kind: `wrong-type ${route.path} ${field.join('.')}`, method: 'POST', path: route.path, headers: JSON_HEADERS, body: json(body) };
    });
  });

const missingRequired: fc.Arbitrary<Case> = fc.constantFrom(
  ...ROUTES.flatMap((r) => [['model'], [r.path === '/v1/responses' ? 'input' : 'messages']].map((field) => ({ r, field }))),
).map(({ r, field }) => {
  const body = r.base();
  deleteAt(body, field);
  return { kind: `missing ${r.path} ${field.join('.')}`, method: 'POST', path: r.path, headers: JSON_HEADERS, body: json(body) };
});

const randomJson: fc.Arbitrary<Case> = fc
  .tuple(anyPostPath, fc.jsonValue({ maxDepth: 4 }))
  .map(([p, v]) => ({ kind: 'random-json', method: 'POST', path: p, headers: JSON_HEADERS, body: Buffer.from(JSON.stringify(v) ?? 'null') }));

const randomBytes: fc.Arbitrary<Case> = fc
  .tuple(anyPostPath, fc.uint8Array({ minLength: 1, maxLength: 2000 }))
  .map(([p, b]) => ({ kind: 'random-bytes-body', method: 'POST', path: p, headers: JSON_HEADERS, body: Buffer.from(b) }));

// Valid JSON whose string holds bytes that are not UTF-8 (a lone continuation byte, an overlong form, a surrogate).
const invalidUtf8: fc.Arbitrary<Case> = fc
  .tuple(routeArb, fc.constantFrom([0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff], [0xe2, 0x82]), fc.nat({ max: 5 }))
  .map(([route, bad, at]) => {
    const text = JSON.stringify(route.base()).replace('"hi"', `"h${'i'.repeat(at)}\u0000MARK"`);
    const [head = '', tail = ''] = text.split('\\u0000MARK');
    return { kind: 'invalid-utf8', method: 'POST', path: route.path, headers: JSON_HEADERS, body: Buffer.concat([Buffer.from(head), Buffer.from(bad), Buffer.from(tail)]) };
  });

const deepNesting: fc.Arbitrary<Case> = fc
  .tuple(routeArb, fc.integer({ min: 129, max: 20_000 }), fc.constantFrom('[', '{"a":'), fc.boolean())
  .map(([route, depth, open, inField]) => {
    const close = open === '[' ? ']' : '}';
    const nest = `${open.repeat(depth)}1${close.repeat(depth)}`;
    const text = inField ? JSON.stringify(route.base()).replace('"hi"', nest) : nest;
    return { kind: `deep-nesting ${depth}`, method: 'POST', path: route.path, headers: JSON_HEADERS, body: Buffer.from(text) };
  });

// A huge model id (no such model: Copilot's 400 relayed) or a huge string where a boolean belongs; past max_body_bytes: 413.
const hugeString: fc.Arbitrary<Case> = fc
  .tuple(routeArb, fc.integer({ min: 10_000, max: MAX_BODY * 2 }), fc.constantFrom('model', 'stream'))
  .map(([route, n, where]) => {
    const body = route.base();
    body[where] = 'x'.repeat(n);
    return { kind: `huge-string ${where} ${n}`, method: 'POST', path: route.path, headers: JSON_HEADERS, body: json(body) };
  });

const oversizedHeaders: fc.Arbitrary<Case> = fc
  .tuple(anyPostPath, fc.integer({ min: 17 * 1024, max: 64 * 1024 }), fc.boolean())
  .map(([p, n, many]) => {
    const headers: Record<string, string> = { ...JSON_HEADERS };
    if (many) for (let i = 0; i < Math.ceil(n / 1000); i++) headers[`x-h${i}`] = 'v'.repeat(1000);
    else headers['x-big'] = 'v'.repeat(n);
    return { kind: 'oversized-headers', method: 'POST', path: p, headers, body: json({}) };
  });

const GET_ROUTES = ['/health', '/v1/models', '/models', '/metrics', '/usage', '/debug/handles'];
const wrongMethod: fc.Arbitrary<Case> = fc.oneof(
  fc
    .tuple(fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'GET'), anyPostPath)
    .map(([m, p]) => ({ kind: `wrong-method ${m} ${p}`, method: m, path: p, headers: {} })),
  fc
    .tuple(fc.constantFrom('POST', 'PUT', 'DELETE', 'PATCH'), fc.constantFrom(...GET_ROUTES))
    .map(([m, p]) => ({ kind: `wrong-method ${m} ${p}`, method: m, path: p, headers: JSON_HEADERS, body: json({}) })),
);

const wrongContentType: fc.Arbitrary<Case> = fc
  .tuple(anyPostPath, fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=z', 'application/xml', 'application/octet-stream', ''))
  .map(([p, t]): Case => ({ kind: `content-type ${t}`, method: 'POST', path: p, headers: t ? { 'content-type': t } : {}, body: json({ model: 'gpt-4.1' }) }));

const tooLarge: fc.Arbitrary<Case> = fc
  .tuple(anyPostPath, fc.integer({ min: MAX_BODY + 1, max: MAX_BODY * 3 }))
  .map(([p, n]) => ({ kind: 'too-large', method: 'POST', path: p, headers: JSON_HEADERS, body: json({ model: 'gpt-4.1', pad: 'p'.repeat(n) }) }));

const badPaths: fc.Arbitrary<Case> = fc
  .tuple(fc.constantFrom('/v1/models/', '/models/', '/v1/nope/', '/v1/messages/', '/'), fc.stringMatching(/^[A-Za-z0-9%._~-]{1,60}$/))
  .filter(([prefix, s]) => !(prefix === '/' && /^(v1|health|metrics|usage|models|debug)/.test(s)))
  .map(([prefix, s]) => ({ kind: 'bad-path', method: 'GET', path: `${prefix}x${s}`, headers: {} }));

const hostile: fc.Arbitrary<Case> = fc
  .tuple(anyPostPath, fc.constantFrom<Record<string, string>>({ host: 'evil.example' }, { origin: 'https://evil.example' }, { 'sec-fetch-site': 'cross-site' }))
  .map(([p, h]) => ({ kind: `hostile ${Object.keys(h)[0]}`, method: 'POST', path: p, headers: { ...JSON_HEADERS, ...h }, body: json({}) }));

// ---- cases Node's HTTP parser refuses: sent on a raw socket ----

const rawGarbage: fc.Arbitrary<Case> = fc
  .tuple(fc.constantFrom(...[0, 1, 2, 0x7f, 0x80, 0xff, 0x20, 0x3c, 0x7b]), fc.uint8Array({ maxLength: 500 }))
  .map(([first, rest]) => ({ kind: 'raw-garbage', raw: Buffer.concat([Buffer.from([first]), Buffer.from(rest)]), path: '/' }));

const rawBadRequests: fc.Arbitrary<Case> = fc
  .tuple(
    fc.constantFrom('/v1/chat/completions', '/v1/messages'),
    fc.constantFrom(
      (p: string) => `FOO ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
      (p: string) => `POST ${p} HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n`,
      (p: string) => `POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon here\r\n\r\n`,
      (p: string) => `POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
      (p: string) => `POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
      (p: string) => `POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n`,
      (p: string) => `GET ${p}\u0000x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
      (p: string) => `POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Bad: a\u0001b\r\n\r\n`,
      (p: string) => `CONNECT ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
      (p: string) => `POST ${p} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
      (p: string) => `POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 200-ok\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
    ),
  )
  .map(([p, make]) => ({ kind: 'raw-bad-request', raw: Buffer.from(make(p), 'latin1'), path: p }));

const badRequest: fc.Arbitrary<Case> = fc.oneof(
  { arbitrary: wrongType, weight: 30 },
  { arbitrary: missingRequired, weight: 4 },
  { arbitrary: randomJson, weight: 10 },
  { arbitrary: randomBytes, weight: 8 },
  { arbitrary: invalidUtf8, weight: 6 },
  { arbitrary: deepNesting, weight: 5 },
  { arbitrary: hugeString, weight: 4 },
  { arbitrary: oversizedHeaders, weight: 4 },
  { arbitrary: wrongMethod, weight: 8 },
  { arbitrary: wrongContentType, weight: 6 },
  { arbitrary: tooLarge, weight: 2 },
  { arbitrary: badPaths, weight: 5 },
  { arbitrary: hostile, weight: 4 },
  { arbitrary: rawGarbage, weight: 5 },
  { arbitrary: rawBadRequests, weight: 5 },
);

// ---- sending ----

interface Reply {
  status: number;
  body: string;
}

function sendHttp(base: URL, agent: http.Agent, c: HttpCase): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...c.headers };
    if (c.body) headers['content-length'] = String(c.body.length);
    const req = http.request({ host: base.hostname, port: base.port, method: c.method, path: c.path, headers, agent, setHost: !('host' in headers) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    // The server may answer (413, 431) and close before the whole body is written.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' ? undefined : reject(err)));
    req.end(c.body);
  });
}

function sendRaw(base: URL, c: RawCase): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(base.port), base.hostname);
    const chunks: Buffer[] = [];
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' || err.code === 'EPIPE' ? undefined : reject(err)));
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, body: text.split('\r\n\r\n').slice(1).join('\r\n\r\n') });
    });
    sock.end(c.raw);
  });
}

function checkReply(c: Case, r: Reply): void {
  const what = `${c.kind} -> ${r.status} ${r.body.slice(0, 200)}`;
  assert.ok(r.status >= 400 && r.status <= 499, `4xx expected: ${what}`);
  const body: unknown = JSON.parse(r.body);
  if (shapeOf(c.path) === 'anthropic') assertAnthropicError(body, what);
  else assertOpenAIError(body, what);
}

describe('fuzz: generated bad requests against the real process', () => {
  let fake: FakeUpstream;
  let home: string;
  let proc: ReturnType<typeof startCli>;
  let base: URL;

  before(async () => {
    fake = await startFakeUpstream({ chunkDelayMs: 0 });
    home = tempHome();
    fs.writeFileSync(path.join(home, 'config.json'), JSON.stringify({ port: 0, log_level: 'info', max_body_bytes: MAX_BODY }), { mode: 0o600 });
    proc = startCli(['run'], fakeEnv(fake, home, fake.createGithubToken()));
    const m = await proc.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)\/v1/);
    base = new URL(m[1] ?? '');
  });
  after(async () => {
    proc.child.kill('SIGKILL');
    await proc.exited;
    await fake.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  test('the base bodies are valid (so each generated case is bad because of its one change)', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const r of ROUTES) {
        const reply = await sendHttp(base, agent, { kind: 'base', method: 'POST', path: r.path, headers: JSON_HEADERS, body: json(r.base()) });
        assert.equal(reply.status, 200, `${r.path}: ${reply.body.slice(0, 300)}`);
      }
    } finally {
      agent.destroy();
    }
  });

  test('requests pipelined before bad bytes (garbage, headers over 16 KiB) are each answered, streams whole, in order; then the error, then the close', async () => {
    const chat = (stream: boolean) => JSON.stringify({ model: 'gpt-4.1', stream, messages: [{ role: 'user', content: 'one' }] });
    const messages = (stream: boolean) => JSON.stringify({ model: 'gpt-4.1', max_tokens: 20, stream, messages: [{ role: 'user', content: 'two' }] });
    const post = (p: string, b: string) => `POST ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(b)}\r\n\r\n${b}`;
    for (const [bad, status] of [['\x00\x01zz\r\n\r\n', 400], [`POST /v1/messages HTTP/1.1\r\nx-big: ${'v'.repeat(20_000)}\r\n\r\n`, 431]] as const) {
      for (const stream of [false, true]) {
        const sock = net.connect(Number(base.port), base.hostname);
        let got = '';
        sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
        sock.on('error', () => undefined);
        const closed = new Promise((r) => sock.once('close', r));
        // Written, not ended: a client's FIN makes Node abort what it has not answered yet.
        sock.write(post('/v1/chat/completions', chat(stream)) + post('/v1/messages', messages(stream)) + bad);
        await closed;
        const what = `${status} after two${stream ? ' streams' : ''}: ${got.slice(0, 300)}`;
        assert.deepEqual([...got.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1])), [200, 200, status], what);
        if (stream) assert.ok(got.indexOf('data: [DONE]') > 0 && got.indexOf('data: [DONE]') < got.indexOf('event: message_stop'), what);
        else assert.ok(got.includes('Echo: one') && got.indexOf('Echo: one') < got.indexOf('Echo: two'), what);
        assertAnthropicError(JSON.parse(got.slice(got.lastIndexOf('\r\n\r\n') + 4)), what);
      }
    }
  });

  test(`${RUNS} bad requests: each a 4xx in the caller's shape; the process survives; a valid request then succeeds`, { timeout: 180_000 }, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const kinds = new Map<string, number>();
    let sent = 0;
    const started = Date.now();
    try {
      await fc.assert(
        fc.asyncProperty(badRequest.map((c) => Object.assign(c, { [fc.toStringMethod]: () => describeCase(c) })), async (c) => {
          const reply = 'raw' in c ? await sendRaw(base, c) : await sendHttp(base, agent, c);
          sent++;
          const k = c.kind.split(' ')[0] ?? c.kind;
          kinds.set(k, (kinds.get(k) ?? 0) + 1);
          checkReply(c, reply);
        }),
        { numRuns: RUNS, seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined, endOnFailure: true },
      );
    } finally {
      agent.destroy();
    }
    const secs = (Date.now() - started) / 1000;
    process.stdout.write(`# fuzz: ${sent} requests in ${secs.toFixed(1)} s: ${[...kinds].map(([k, n]) => `${k}=${n}`).join(' ')}\n`);
    assert.ok(sent >= RUNS);
    assert.equal(proc.child.exitCode, null, 'the proxy process is still running');
    const client = new OpenAI({ baseURL: `${base.origin}/v1`, apiKey: 'dummy', maxRetries: 0 });
    const ok = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'still alive' }] });
    assert.equal(ok.choices[0]?.message.content, 'Echo: still alive');
    assert.doesNotMatch(proc.output(), /unhandled error|Internal proxy error|uncaught/i);
  });
});
