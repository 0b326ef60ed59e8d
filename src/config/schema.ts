import * as z from 'zod';
import type { EditorIdentity } from './editor-identity.ts';
import { unsetAware, zeroAsUnset } from './unset.ts';

/**
 * The config.json contract. The Go tool's keys (`port`, `github_token`,
 * `copilot_token`, `expires_at`, `refresh_in`, `timeouts{...}`) keep their names
 * and defaults so its users' files keep working; the rest are ours (DESIGN.md).
 */

export const TIMEOUT_DEFAULTS = {
  http_client: 300,
  server_read: 30,
  server_write: 300,
  server_idle: 120,
  proxy_context: 300,
  circuit_breaker: 30,
  /** TCP keep-alive period of upstream sockets (first probe after this much silence); 0 = Node's default, < 0 = off. */
  keep_alive: 30,
  tls_handshake: 10,
  dial_timeout: 10,
  /** How long an idle upstream connection stays in the pool for reuse. */
  idle_conn_timeout: 90,
  // Ours, beyond the Go tool's block.
  first_byte: 30,
  stream_idle: 120,
  shutdown: 10,
} as const;

export type TimeoutKey = keyof typeof TIMEOUT_DEFAULTS;

const seconds = z.number().int('must be a whole number of seconds').positive('must be > 0').max(86_400, 'must be at most 86400');

/**
 * `keep_alive` is not a timeout but the upstream dialer's TCP keep-alive period
 * (the Go tool's net.Dialer.KeepAlive): 0 = the runtime's default, negative =
 * no TCP keep-alive. So 0 and negatives are values here, not "unset".
 */
const keepAlivePeriod = z
  .number()
  .int('must be a whole number of seconds (0 = the default, negative = off)')
  .min(-86_400, 'must be at least -86400 (any negative turns TCP keep-alive off)')
  .max(86_400, 'must be at most 86400');

const timeoutShape = {
  ...(Object.fromEntries(Object.keys(TIMEOUT_DEFAULTS).map((k) => [k, zeroAsUnset(seconds)])) as Record<
    Exclude<TimeoutKey, 'keep_alive'>,
    ReturnType<typeof zeroAsUnset<typeof seconds>>
  >),
  keep_alive: unsetAware(keepAlivePeriod),
};

/** The Go tool writes 0 for a timeout it leaves at its default: 0 is unset here too (keep_alive aside, see above). */
export const timeoutsSchema = z.object(timeoutShape).strict();

const httpUrl = z
  .string()
  .url('must be a URL such as https://example.com')
  .refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://')
  .transform((u) => u.replace(/\/+$/, ''));

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const OAUTH_APPS = ['vscode', 'opencode'] as const;
export type OAuthApp = (typeof OAUTH_APPS)[number];

/** A value sent as an HTTP header: printable ASCII only (a CR/LF would break every upstream call). */
const headerValue = z.string().regex(/^[\x20-\x7e]+$/, 'must be printable ASCII on one line (no CR/LF or control characters)');
const versionHeader = (example: string) => headerValue.regex(/^[\w.-]+\/[\w.-]+$/, `must look like ${example}`);

/** Every key that a file, env var or flag may set. All optional: defaults come later; "" and null are unset (unset.ts). */
/** config.json's `headers` block: the editor identity sent to GitHub and Copilot. */
const headersBlockSchema = z
  .object({
    user_agent: unsetAware(headerValue),
    editor_version: unsetAware(versionHeader('vscode/1.104.1')),
    editor_plugin_version: unsetAware(versionHeader('copilot-chat/0.31.2')),
    copilot_integration_id: unsetAware(headerValue),
    openai_intent: unsetAware(headerValue),
    x_initiator: unsetAware(z.string()),
  })
  .strict();
/** The keys of the `headers` block (`config set headers.user_agent ...`). */
export const HEADER_KEYS = Object.keys(headersBlockSchema.shape);

/** The shortest api_key taken. */
export const API_KEY_MIN_LENGTH = 8;

export const fileConfigSchema = z.object({
  host: unsetAware(z.string()),
  port: unsetAware(z.number().int('must be a whole number').min(0, 'must be 0-65535 (0 picks a free port)').max(65535, 'must be 0-65535 (0 picks a free port)')),
  oauth_app: unsetAware(z.enum(OAUTH_APPS)),
  enterprise_url: unsetAware(z.string().regex(/^(https?:\/\/)?[a-z0-9.-]+\.[a-z]{2,}\/?$/i, 'must be a domain such as company.ghe.com')),
  github_url: unsetAware(httpUrl),
  github_api_url: unsetAware(httpUrl),
  copilot_api_url: unsetAware(httpUrl),
  keychain: unsetAware(z.enum(['auto', 'off'])),
  api_key: unsetAware(z.string().min(API_KEY_MIN_LENGTH, `must be at least ${API_KEY_MIN_LENGTH} characters`)),
  cors_origins: unsetAware(z.array(z.string().url('must be an origin such as http://localhost:3000'))),
  model_map: unsetAware(z.record(z.string().min(1), z.string().min(1))),
  model_fallback: unsetAware(z.boolean()),
  monthly_credits: unsetAware(z.number().int('must be a whole number of AI credits').min(1, 'must be at least 1').max(100_000_000, 'must be at most 100000000')),
  max_body_bytes: unsetAware(z.number().int().min(1024, 'must be at least 1024').max(512 * 1024 * 1024, 'must be at most 536870912')),
  max_inflight_body_bytes: unsetAware(z.number().int().min(1024 * 1024, 'must be at least 1048576').max(4 * 1024 * 1024 * 1024, 'must be at most 4294967296')),
  max_concurrency: unsetAware(z.number().int().min(1).max(10_000)),
  max_queue: unsetAware(z.number().int().min(0).max(100_000)),
  log_level: unsetAware(z.enum(LOG_LEVELS)),
  debug_endpoints: unsetAware(z.boolean()),
  timeouts: unsetAware(timeoutsSchema),
  // The Go tool's own blocks, honoured so its users' files keep working.
  /** Only these models are listed by /v1/models (the Go tool's filter); null or [] lists all. */
  allowed_models: unsetAware(z.array(z.string().min(1))),
  /** Editor identity sent to GitHub and Copilot. x_initiator is accepted but computed per request (see README). */
  headers: unsetAware(headersBlockSchema),
  /** The Go tool's CORS block; its default ["*"] is not honoured (see cors_origins). */
  cors: unsetAware(z.object({ allowed_origins: unsetAware(z.array(z.string())), allowed_headers: unsetAware(z.array(z.string())) }).strict()),
  // The Go tool kept tokens in config.json; they are read once and moved to the token store.
  github_token: unsetAware(z.string()),
  copilot_token: unsetAware(z.string()),
  expires_at: zeroAsUnset(z.number()),
  refresh_in: zeroAsUnset(z.number()),
});

/** The Go tool's token keys in config.json: read by loadConfig, moved to the token store, removed from the file. */
export const LEGACY_TOKEN_KEYS = ['github_token', 'copilot_token', 'expires_at', 'refresh_in'] as const;
export type LegacyTokens = Partial<Pick<z.infer<typeof fileConfigSchema>, (typeof LEGACY_TOKEN_KEYS)[number]>>;

export type FileConfig = z.infer<typeof fileConfigSchema>;
export type ConfigKey = keyof FileConfig;

/** Keys that hold secrets: never printed in full. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['github_token', 'copilot_token', 'api_key']);

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 8081,
  oauth_app: 'vscode' as OAuthApp,
  github_url: 'https://github.com',
  github_api_url: 'https://api.github.com',
  keychain: 'auto' as 'auto' | 'off',
  cors_origins: [] as string[],
  model_map: {} as Record<string, string>,
  max_body_bytes: 5 * 1024 * 1024,
  max_inflight_body_bytes: 32 * 1024 * 1024,
  max_concurrency: 64,
  max_queue: 256,
  log_level: 'info' as LogLevel,
  model_fallback: true,
};

export type ConfigSource = 'default' | 'file' | 'env' | 'flag';

export interface ResolvedConfig {
  host: string;
  port: number;
  oauth_app: OAuthApp;
  enterprise_url: string | undefined;
  github_url: string;
  github_api_url: string;
  /** Explicit override; when undefined the token's `endpoints.api` (or the public default) is used. */
  copilot_api_url: string | undefined;
  keychain: 'auto' | 'off';
  api_key: string | undefined;
  cors_origins: string[];
  model_map: Record<string, string>;
  /** An unknown name of a known model family resolves to the newest model of that family. */
  model_fallback: boolean;
  /** The month's AI-credit allowance when set (wins over the plan's, usage/api.ts). */
  monthly_credits: number | undefined;
  max_body_bytes: number;
  /** Request-body bytes in flight across all requests, reserved before a body is read. */
  max_inflight_body_bytes: number;
  max_concurrency: number;
  max_queue: number;
  log_level: LogLevel;
  debug_endpoints: boolean;
  timeouts: Record<TimeoutKey, number>;
  /** Models listed by /v1/models; empty = all (the Go tool's `allowed_models`). */
  allowed_models: string[];
  /** Editor identity for GitHub and Copilot calls (the Go tool's `headers` block over the defaults). */
  headers: EditorIdentity;
  paths: ConfigPaths;
  /** Where each top-level key (and `timeouts.x`) came from. */
  sources: Record<string, ConfigSource>;
  /** Tokens found in a Go-tool config.json (never from the environment), to be migrated into the token store. */
  legacy_tokens: LegacyTokens;
  /** Non-fatal findings (unknown keys in config.json), for the caller to log. */
  warnings: string[];
}

export interface ConfigPaths {
  dataDir: string;
  configFile: string;
  logFile: string;
  tokenFile: string;
}

export const DEFAULT_COPILOT_API_URL = 'https://api.githubcopilot.com';

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** The host, when it is reachable from other machines and no api_key guards it (run refuses to listen so); else null. Pure. */
export function exposedHost(config: Pick<ResolvedConfig, 'host' | 'api_key'>): string | null {
  return !isLoopbackHost(config.host) && !config.api_key ? config.host : null;
}
