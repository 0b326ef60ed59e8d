import { Agent, request, type Dispatcher } from 'undici';
import { z } from 'zod';
import { snapshotFromJson, tokenJsonSchema, type TokenSnapshot } from '../auth/snapshot.ts';
import type { ResolvedConfig } from '../config/schema.ts';
import { AppError, UpstreamHttpError } from '../errors.ts';

/**
 * Talking to a running proxy over loopback (`status`, `refresh`, `models`,
 * `usage`). Its own plain Agent: HTTP(S)_PROXY must not catch loopback calls.
 */

export interface RunningProxy {
  /** `http://127.0.0.1:8081`, no trailing slash. */
  url: string;
  version: string;
  snapshot: TokenSnapshot;
}

/** What the CLI reads of a running proxy's /health: its version and the token JSON (auth/snapshot.ts). */
const healthSchema = z.object({ version: z.string(), token: tokenJsonSchema });

export function createLoopbackClient(): Dispatcher {
  return new Agent({ connect: { timeout: 1000 }, headersTimeout: 0, bodyTimeout: 0 });
}

/** Where a CLI on this machine reaches the proxy: a wildcard listen address is reached on 127.0.0.1. */
export function proxyOrigin(config: Pick<ResolvedConfig, 'host' | 'port'>): string {
  const h = config.host;
  if (h === '0.0.0.0' || h === '::' || h === '[::]' || h === '') return `http://127.0.0.1:${config.port}`;
  if (h.includes(':') && !h.startsWith('[')) return `http://[${h}]:${config.port}`;
  return `http://${h}:${config.port}`;
}

/** GET /health with a short timeout; null when nothing (or something else) answers. */
export async function findRunningProxy(
  config: Pick<ResolvedConfig, 'host' | 'port'>,
  dispatcher: Dispatcher,
  timeoutMs = 800,
): Promise<RunningProxy | null> {
  const url = proxyOrigin(config);
  try {
    const res = await request(`${url}/health`, { dispatcher, signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    const text = await res.body.text();
    if (res.statusCode !== 200) return null;
    const parsed = healthSchema.safeParse(JSON.parse(text));
    if (!parsed.success) return null;
    return { url, version: parsed.data.version, snapshot: snapshotFromJson(parsed.data.token) };
  } catch {
    return null;
  }
}

/** Call the running proxy; JSON answer, or an error carrying the proxy's message. */
export async function proxyJson(
  proxy: RunningProxy,
  dispatcher: Dispatcher,
  path: string,
  opts: { method?: 'GET' | 'POST'; apiKey?: string; timeoutMs?: number } = {},
): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
  let res: Dispatcher.ResponseData;
  try {
    res = await request(`${proxy.url}${path}`, {
      method: opts.method ?? 'GET',
      headers,
      dispatcher,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000),
    });
  } catch (err) {
    throw new AppError(`The proxy at ${proxy.url} did not answer ${path}: ${err instanceof Error ? err.message : String(err)}`, {
      code: 'proxy_unreachable',
      status: 502,
    });
  }
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.statusCode >= 400) {
    const m = z.object({ error: z.object({ message: z.string() }) }).safeParse(json);
    throw new UpstreamHttpError(res.statusCode, m.success ? m.data.error.message : `The proxy answered ${res.statusCode} to ${path}`);
  }
  return json;
}
