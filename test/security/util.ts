import assert from 'node:assert/strict';
import http from 'node:http';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json(): unknown;
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  agent?: http.Agent;
  /** Stop reading (and close) once the body has been silent this long: for responses that never end, such as a live feed. */
  idleMs?: number;
}

/** node:http, so any Host / Origin / Sec-Fetch-Site header can be sent as a browser (or an attacker) would. */
export function request(baseUrl: string, r: RawRequest): Promise<RawResponse> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method: r.method ?? 'GET', path: r.path, headers: r.headers, agent: r.agent, setHost: r.headers?.host === undefined },
      (res) => {
        const chunks: Buffer[] = [];
        let idle: NodeJS.Timeout | undefined;
        const done = () => {
          clearTimeout(idle);
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as unknown });
        };
        const armIdle = () => {
          if (r.idleMs === undefined) return;
          clearTimeout(idle);
          idle = setTimeout(() => {
            res.destroy();
            done();
          }, r.idleMs);
        };
        armIdle();
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          armIdle();
        });
        res.on('end', done);
        res.on('error', (e) => (r.idleMs !== undefined && res.destroyed ? undefined : reject(e)));
      },
    );
    req.on('error', reject);
    req.end(r.body);
  });
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `{"error":{"message","type","code","param"}}` */
export function assertOpenAIError(body: unknown, what = ''): Record<string, unknown> {
  assert.ok(isRecord(body) && isRecord(body.error), `OpenAI error envelope expected ${what}: ${JSON.stringify(body)?.slice(0, 300)}`);
  const e = body.error;
  assert.equal(typeof e.message, 'string', what);
  assert.equal(typeof e.type, 'string', what);
  assert.ok('code' in e && 'param' in e, `code and param present ${what}`);
  return e;
}

/** `{"type":"error","error":{"type","message"}}` */
export function assertAnthropicError(body: unknown, what = ''): Record<string, unknown> {
  assert.ok(isRecord(body) && body.type === 'error' && isRecord(body.error), `Anthropic error envelope expected ${what}: ${JSON.stringify(body)?.slice(0, 300)}`);
  assert.equal(typeof body.error.type, 'string', what);
  assert.equal(typeof body.error.message, 'string', what);
  return body.error;
}

/** Polls until `fn` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(fn: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() - started > timeoutMs) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const CHAT_BODY = JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
