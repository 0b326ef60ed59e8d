import type { Dispatcher } from 'undici';
import { requestVia } from './request.ts';
import * as z from 'zod';
import type { ResolvedConfig } from '../config/schema.ts';
import { GithubAuthRejectedError, UpstreamHttpError } from '../errors.ts';
import { parseRetryAfter, toTransportError } from './transport-errors.ts';
import { redact } from '../log.ts';
import { DEFAULT_EDITOR_IDENTITY, type EditorIdentity } from '../config/editor-identity.ts';
import { GITHUB_API_VERSION, editorHeaders } from './editor-headers.ts';
import type { UsageSummary } from '../usage/api.ts';

/**
 * One function per GitHub call used for sign-in and the token lifecycle.
 * Nothing here keeps state; nothing here logs; no error message carries a token.
 */

export interface GithubDeps {
  dispatcher: Dispatcher;
  config: Pick<ResolvedConfig, 'github_url' | 'github_api_url'> & { headers?: EditorIdentity };
  signal?: AbortSignal;
}

/** VS Code Copilot Chat's identity; GitHub answers 403 to the exchange without an editor. */
export function exchangeHeaders(id: EditorIdentity = DEFAULT_EDITOR_IDENTITY): Record<string, string> {
  return { ...editorHeaders(id), 'x-github-api-version': GITHUB_API_VERSION };
}

export const OAUTH_CLIENT_IDS = {
  vscode: 'Iv1.b507a08c87ecfe98',
  opencode: 'Ov23li8tweQw6odWQebz',
} as const;

export const DEVICE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

// ---------------------------------------------------------------- schemas

/**
 * GitHub's device-flow answers carry numbers as JSON numbers, but as strings
 * in its form-encoded replies (and some proxies re-encode them): accept both.
 */
const numeric = z.union([z.number(), z.string().trim().regex(/^\d+(\.\d+)?$/, 'must be a number').transform(Number)]);

export const deviceCodeSchema = z.object({
  device_code: z.string().min(1),
  user_code: z.string().min(1),
  verification_uri: z.string().min(1),
  verification_uri_complete: z.string().optional(),
  expires_in: numeric.pipe(z.number().positive()),
  // RFC 8628: the client must use 5 s when the server gives none.
  interval: numeric.pipe(z.number().nonnegative()).optional().default(5),
});
export type DeviceCode = z.infer<typeof deviceCodeSchema>;

const accessTokenSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  scope: z.string().optional(),
});
const accessTokenErrorSchema = z.object({
  error: z.string().min(1),
  error_description: z.string().optional(),
  interval: numeric.pipe(z.number().positive()).optional(),
});

export type PollResult =
  | { kind: 'token'; accessToken: string; scope: string }
  | { kind: 'pending' }
  | { kind: 'slow_down'; interval: number | undefined }
  | { kind: 'expired' }
  | { kind: 'denied' }
  | { kind: 'error'; error: string; description: string | undefined };

export const copilotTokenSchema = z.object({
  token: z.string().min(1),
  expires_at: z.number(),
  refresh_in: z.number(),
  endpoints: z.object({ api: z.string().optional() }).partial().optional(),
  sku: z.string().optional(),
  chat_enabled: z.boolean().optional(),
});
export type CopilotTokenResponse = z.infer<typeof copilotTokenSchema>;

const quotaSnapshotSchema = z.object({
  entitlement: z.number().nullish(),
  remaining: z.number().nullish(),
  percent_remaining: z.number().nullish(),
  unlimited: z.boolean().nullish(),
  overage_count: z.number().nullish(),
  overage_permitted: z.boolean().nullish(),
});
export const copilotUserSchema = z.object({
  login: z.string().nullish(),
  copilot_plan: z.string().nullish(),
  access_type_sku: z.string().nullish(),
  quota_reset_date: z.string().nullish(),
  quota_snapshots: z
    .object({
      chat: quotaSnapshotSchema.nullish(),
      completions: quotaSnapshotSchema.nullish(),
      premium_interactions: quotaSnapshotSchema.nullish(),
    })
    .nullish(),
});
export type CopilotUser = z.infer<typeof copilotUserSchema>;

// ---------------------------------------------------------------- calls

/** POST {github_url}/login/device/code */
export async function requestDeviceCode(deps: GithubDeps, clientId: string): Promise<DeviceCode> {
  const url = `${deps.config.github_url}/login/device/code`;
  const res = await send(deps, url, {
    method: 'POST',
    headers: jsonHeaders(deps),
    body: JSON.stringify({ client_id: clientId, scope: 'read:user' }),
  });
  if (res.status !== 200) throw httpError(res, 'requesting a device code');
  return parse(deviceCodeSchema, res, 'device code');
}

/** One poll of POST {github_url}/login/oauth/access_token. GitHub answers 200 for pending/slow_down/errors too. */
export async function pollAccessToken(deps: GithubDeps, opts: { clientId: string; deviceCode: string }): Promise<PollResult> {
  const url = `${deps.config.github_url}/login/oauth/access_token`;
  const res = await send(deps, url, {
    method: 'POST',
    headers: jsonHeaders(deps),
    body: JSON.stringify({ client_id: opts.clientId, device_code: opts.deviceCode, grant_type: DEVICE_GRANT_TYPE }),
  });
  const json = parseJsonText(res.text);
  const ok = accessTokenSchema.safeParse(json);
  if (res.status === 200 && ok.success) return { kind: 'token', accessToken: ok.data.access_token, scope: ok.data.scope ?? '' };
  const err = accessTokenErrorSchema.safeParse(json);
  // RFC 8628 allows 400 for the error answers; GitHub uses 200.
  if ((res.status === 200 || res.status === 400) && err.success) {
    switch (err.data.error) {
      case 'authorization_pending':
        return { kind: 'pending' };
      case 'slow_down':
        return { kind: 'slow_down', interval: err.data.interval };
      case 'expired_token':
        return { kind: 'expired' };
      case 'access_denied':
        return { kind: 'denied' };
      default:
        return { kind: 'error', error: err.data.error, description: err.data.error_description };
    }
  }
  if (res.status !== 200) throw httpError(res, 'polling for the access token');
  throw new UpstreamHttpError(502, `Unexpected answer from ${originOf(url)} while polling for the access token`);
}

/** GET {github_api_url}/copilot_internal/v2/token: GitHub token -> short-lived Copilot token (vscode app only). */
export async function exchangeCopilotToken(deps: GithubDeps, githubToken: string): Promise<CopilotTokenResponse> {
  const url = `${deps.config.github_api_url}/copilot_internal/v2/token`;
  const res = await send(deps, url, { method: 'GET', headers: githubAuthHeaders(deps, githubToken) });
  if (res.status === 401 || res.status === 403 || res.status === 404) throw rejected(res, 'the Copilot token exchange');
  if (res.status !== 200) throw httpError(res, 'exchanging the GitHub token for a Copilot token');
  return parse(copilotTokenSchema, res, 'Copilot token');
}

/** GET {github_api_url}/copilot_internal/user: plan and quotas. */
export async function getCopilotUser(deps: GithubDeps, githubToken: string): Promise<CopilotUser> {
  const url = `${deps.config.github_api_url}/copilot_internal/user`;
  const res = await send(deps, url, { method: 'GET', headers: githubAuthHeaders(deps, githubToken) });
  if (res.status === 401 || res.status === 403 || res.status === 404) throw rejected(res, 'the Copilot user lookup');
  if (res.status !== 200) throw httpError(res, 'reading the Copilot plan and quota');
  return parse(copilotUserSchema, res, 'Copilot user');
}

// ---------------------------------------------------------------- pure


/**
 * Copilot's `x-quota-snapshot-premium_interactions: ent=300&ov=0.0&ovPerm=false&rem=80.0&rst=2026-12-01T00%3A00%3A00Z`
 * response header (`rem` is the percent remaining; `ent=-1` means unlimited) laid over the last summary:
 * the remaining count moves with every answer, with no extra call to GitHub. Null when the header is absent or malformed.
 */
export function applyQuotaSnapshot(header: string | string[] | undefined, current: UsageSummary): UsageSummary | null {
  const raw = Array.isArray(header) ? header[0] : header;
  if (!raw) return null;
  const p = new URLSearchParams(raw);
  const ent = Number(p.get('ent'));
  const rem = Number(p.get('rem'));
  if (!p.has('ent') || !p.has('rem') || !Number.isFinite(ent) || !Number.isFinite(rem)) return null;
  const rst = p.get('rst');
  const resetDate = rst && /^\d{4}-\d{2}-\d{2}/.test(rst) ? rst.slice(0, 10) : current.resetDate;
  if (ent < 0) return { plan: current.plan, entitlement: null, remaining: null, percentRemaining: null, unlimited: true, resetDate };
  const percent = Math.max(0, Math.min(100, rem));
  return {
    plan: current.plan,
    entitlement: ent,
    remaining: Math.round((ent * percent) / 100),
    percentRemaining: Math.round(percent * 10) / 10,
    unlimited: false,
    resetDate,
  };
}

/** Premium-request quota in one flat shape (CLI `usage`, tray, proxy `/usage`). */
export function toUsageSummary(user: CopilotUser): UsageSummary {
  const q = user.quota_snapshots?.premium_interactions ?? null;
  const entitlement = q?.entitlement ?? null;
  const remaining = q?.remaining ?? null;
  let percent = q?.percent_remaining ?? null;
  if (percent === null && entitlement !== null && remaining !== null && entitlement > 0) percent = (remaining / entitlement) * 100;
  return {
    plan: user.copilot_plan ?? user.access_type_sku ?? null,
    entitlement,
    remaining,
    percentRemaining: percent === null ? null : Math.round(percent * 10) / 10,
    unlimited: q?.unlimited ?? false,
    resetDate: user.quota_reset_date ?? null,
  };
}

// ---------------------------------------------------------------- plumbing

interface RawResponse {
  url: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function jsonHeaders(deps: GithubDeps): Record<string, string> {
  return { accept: 'application/json', 'content-type': 'application/json', 'user-agent': (deps.config.headers ?? DEFAULT_EDITOR_IDENTITY).user_agent };
}

function githubAuthHeaders(deps: GithubDeps, githubToken: string): Record<string, string> {
  return { ...exchangeHeaders(deps.config.headers), accept: 'application/json', authorization: `token ${githubToken}` };
}

async function send(deps: GithubDeps, url: string, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string }): Promise<RawResponse> {
  try {
    const res = await requestVia(deps.dispatcher, url, {
      method: init.method,
      headers: init.headers,
      body: init.body,
      signal: deps.signal,
    });
    const text = await res.body.text();
    return { url, status: res.statusCode, headers: res.headers, text };
  } catch (err) {
    throw toTransportError(err, { what: `${init.method} ${new URL(url).pathname}`, signal: deps.signal, phase: 'request', peer: originOf(url) });
  }
}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parse<T>(schema: z.ZodType<T>, res: RawResponse, what: string): T {
  const r = schema.safeParse(parseJsonText(res.text));
  if (r.success) return r.data;
  // Name the fields only: the body may hold a token.
  const fields = [...new Set(r.error.issues.map((i) => i.path.join('.') || '(body)'))].join(', ');
  throw new UpstreamHttpError(502, `Unexpected ${what} answer from ${originOf(res.url)} (bad or missing: ${fields})`);
}

/** GitHub's own words for an error, short, from JSON `message`/`error_description` or plain text. */
function upstreamMessage(res: RawResponse): string {
  return redact(rawUpstreamMessage(res)).slice(0, 300);
}

function rawUpstreamMessage(res: RawResponse): string {
  const json = parseJsonText(res.text);
  const m = z.object({ message: z.string() }).or(z.object({ error_description: z.string() })).safeParse(json);
  if (m.success) return 'message' in m.data ? m.data.message : m.data.error_description;
  if (json === undefined && res.text.trim() && res.text.length < 300) return res.text.trim();
  return `HTTP ${res.status}`;
}

function httpError(res: RawResponse, doing: string): UpstreamHttpError {
  return new UpstreamHttpError(res.status, `GitHub answered ${res.status} while ${doing}: ${upstreamMessage(res)}`, {
    retryAfterSec: parseRetryAfter(res.headers['retry-after']),
  });
}

/** What GitHub said; what to do about a 401/403 is the caller's to say (sign in again, or check an imported token), with the command as started. */
function rejected(res: RawResponse, what: string): GithubAuthRejectedError {
  const hint =
    res.status === 404 ? '; this account may have no Copilot access, or the token comes from an app that cannot be exchanged (try --oauth-app opencode)' : '';
  return new GithubAuthRejectedError(res.status, `GitHub rejected the GitHub token at ${what} (${res.status}: ${upstreamMessage(res)})${hint}`);
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
