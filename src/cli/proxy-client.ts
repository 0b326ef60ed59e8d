import http from 'node:http';
import * as z from 'zod';
import { snapshotFromJson, type TokenSnapshot } from '../auth/snapshot.ts';
import { healthBodySchema } from '../ipc/bodies.ts';
import { dataDirId } from '../config/identity.ts';
import { envName } from '../config/env.ts';
import { usageLimitSchema, type UsageLimit } from '../upstream/usage-limit.ts';
import type { ResolvedConfig } from '../config/schema.ts';
import { AppError, UpstreamHttpError } from '../errors.ts';

/**
 * Talking to a running proxy over loopback (`status`, `refresh`, `models`,
 * `usage`), with node:http and its own Agent: HTTP(S)_PROXY must not catch
 * loopback calls, and a command that only looks must not load undici.
 */

/** The CLI's loopback connection pool (closed when the command ends). */
export type LoopbackClient = http.Agent;

/** One request to the proxy on loopback: status and body text. Rejects on a network error or the timeout. */
function loopbackRequest(
  agent: LoopbackClient,
  url: string,
  opts: { method: 'GET' | 'POST'; headers: Record<string, string>; timeoutMs: number; onConnected?: () => void },
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method, headers: opts.headers, agent, signal: AbortSignal.timeout(opts.timeoutMs) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const { onConnected } = opts;
    if (onConnected) {
      req.on('socket', (socket) => {
        if (socket.connecting) socket.once('connect', onConnected);
        else onConnected();
      });
    }
    req.end();
  });
}

export interface RunningProxy {
  /** `http://127.0.0.1:8081`, no trailing slash. */
  url: string;
  version: string;
  snapshot: TokenSnapshot;
  /** Copilot's weekly or session limit, while it holds. */
  limit: UsageLimit | null;
  /** Which data dir it serves (config/identity.ts); null for a proxy older than the identity. */
  dataDirId: string | null;
}

/**
 * Who holds the port: our own proxy, a github-copilot-svcs proxy of another
 * data dir (or user), another program (it took the connection but did not
 * answer /health as our proxy does: `detail` says how), or nobody.
 */
export type PortHolder =
  | { kind: 'ours'; proxy: RunningProxy }
  | { kind: 'other'; proxy: RunningProxy }
  | { kind: 'foreign'; detail: string }
  | { kind: 'none' };

/**
 * Errors that do not show another program: nothing listens (or the address is
 * not this machine's), or the connection was reset (a proxy stopping).
 */
const NOT_A_PROGRAM = new Set(['ECONNREFUSED', 'EADDRNOTAVAIL', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'EPIPE']);

/** What the CLI reads of a running proxy's /health: its version, the token JSON (auth/snapshot.ts), its identity. */
const healthSchema = healthBodySchema.pick({ version: true, token: true }).extend({
  // An older proxy's /health has no limit and no identity.
  upstream: z.object({ limit: usageLimitSchema.nullish() }).optional(),
  instance: healthBodySchema.shape.instance.optional(),
});

export function createLoopbackClient(): LoopbackClient {
  return new http.Agent({ keepAlive: true });
}

/** Where a CLI on this machine reaches the proxy: a wildcard listen address is reached on 127.0.0.1. */
export function proxyOrigin(config: Pick<ResolvedConfig, 'host' | 'port'>): string {
  const h = config.host;
  if (h === '0.0.0.0' || h === '::' || h === '[::]' || h === '') return `http://127.0.0.1:${config.port}`;
  if (h.includes(':') && !h.startsWith('[')) return `http://[${h}]:${config.port}`;
  return `http://${h}:${config.port}`;
}

/** GET /health with a short timeout: a github-copilot-svcs proxy (any data dir's), another program (how it answered), or nobody. */
async function probePort(config: Pick<ResolvedConfig, 'host' | 'port'>, agent: LoopbackClient, timeoutMs: number): Promise<RunningProxy | { foreign: string } | null> {
  const url = proxyOrigin(config);
  let res: { status: number; text: string };
  // Only a connection that was made shows a program: a connect that is slow to fail (a LAN address on
  // Windows takes 2 s to refuse, a firewall drops the attempt) is nobody.
  let connected = false;
  try {
    res = await loopbackRequest(agent, `${url}/health`, { method: 'GET', headers: { accept: 'application/json' }, timeoutMs, onConnected: () => (connected = true) });
  } catch (err) {
    const code = err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : '';
    if (!connected || NOT_A_PROGRAM.has(code)) return null;
    if (err instanceof Error && (err.name === 'AbortError' || err.name === 'TimeoutError')) {
      return { foreign: `it took the connection but did not answer /health within ${timeoutMs / 1000} s: another program, or a proxy too busy to answer` };
    }
    return { foreign: `it does not speak HTTP as this proxy does (${code || (err instanceof Error ? err.message : String(err))})` };
  }
  if (res.status !== 200) return { foreign: `it answered HTTP ${res.status} to /health` };
  let json: unknown;
  try {
    json = JSON.parse(res.text);
  } catch {
    return { foreign: 'it answered /health with something other than JSON' };
  }
  const parsed = healthSchema.safeParse(json);
  if (!parsed.success) return { foreign: "its /health is not a github-copilot-svcs proxy's" };
  const d = parsed.data;
  return { url, version: d.version, snapshot: snapshotFromJson(d.token), limit: d.upstream?.limit ?? null, dataDirId: d.instance?.data_dir_id ?? null };
}

/** GET /health with a short timeout; null when nothing (or something other than a github-copilot-svcs proxy) answers. Any data dir's. */
export async function findRunningProxy(config: Pick<ResolvedConfig, 'host' | 'port'>, agent: LoopbackClient, timeoutMs = 800): Promise<RunningProxy | null> {
  const p = await probePort(config, agent, timeoutMs);
  return p === null || 'foreign' in p ? null : p;
}

/** The proxy on the configured port, and whether it serves this config's data dir: only then may a command use it. */
export async function findPortHolder(config: Pick<ResolvedConfig, 'host' | 'port' | 'paths'>, agent: LoopbackClient, timeoutMs = 800): Promise<PortHolder> {
  const proxy = await probePort(config, agent, timeoutMs);
  if (!proxy) return { kind: 'none' };
  if ('foreign' in proxy) return { kind: 'foreign', detail: proxy.foreign };
  return proxy.dataDirId === dataDirId(config.paths.dataDir) ? { kind: 'ours', proxy } : { kind: 'other', proxy };
}

/** What to do when another program holds the port. */
export const FOREIGN_HOLDER_FIX = `Stop that program, or give this proxy another port (config "port", --port or ${envName('port')}).`;

/** The line a command says when another program holds its port. Pure. */
export function foreignHolderLine(detail: string, port: number): string {
  return `Port ${port} is held by another program (${detail}). ${FOREIGN_HOLDER_FIX}`;
}

/** The line a command says when another data dir's proxy holds its port. Pure. */
export function otherProxyLine(proxy: RunningProxy, port: number): string {
  const who = proxy.dataDirId === null ? `a github-copilot-svcs proxy without a data-dir identity (version ${proxy.version})` : `a github-copilot-svcs proxy of another data dir or user (version ${proxy.version})`;
  return `Port ${port} is held by ${who}; this command did not use it. Stop that proxy, or give this data dir its own port (config "port" or --port).`;
}

/** Call the running proxy; JSON answer, or an error carrying the proxy's message. */
export async function proxyJson(
  proxy: RunningProxy,
  agent: LoopbackClient,
  path: string,
  opts: { method?: 'GET' | 'POST'; apiKey?: string; timeoutMs?: number } = {},
): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
  let res: { status: number; text: string };
  try {
    res = await loopbackRequest(agent, `${proxy.url}${path}`, { method: opts.method ?? 'GET', headers, timeoutMs: opts.timeoutMs ?? 60_000 });
  } catch (err) {
    throw new AppError(`The proxy at ${proxy.url} did not answer ${path}: ${err instanceof Error ? err.message : String(err)}`, {
      code: 'proxy_unreachable',
      status: 502,
    });
  }
  const text = res.text;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (res.status >= 400) {
    const m = z.object({ error: z.object({ message: z.string() }) }).safeParse(json);
    throw new UpstreamHttpError(res.status, m.success ? m.data.error.message : `The proxy answered ${res.status} to ${path}`);
  }
  return json;
}
