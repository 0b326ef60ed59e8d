// A fake GitHub (web + REST) and GitHub Copilot API on one loopback origin, for tests.
// Shapes follow what the real services send; see README.md in this folder for the sources.

import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { TEXT_HEADERS } from './errors.ts';
import type { FailSpec } from './errors.ts';
import { flattenHeaders, isRecord, num, str } from './guards.ts';
import { defaultModels, endpointsOf } from './models.ts';
import type { CopilotModel } from './models.ts';
import {
  chatCompletionBody,
  chatStreamEvents,
  decide,
  embeddingsBody,
  messagesBody,
  messagesStreamEvents,
  nanoAiuFor,
  newChatMeta,
  parseChatRequest,
  parseEmbeddingsInput,
  parseMessagesRequest,
  parseResponsesRequest,
  responsesBody,
  responsesStreamEvents,
  tokenCounts,
} from './replies.ts';
import { usageLimitSpec } from './limits.ts';
import type { Conversation } from './replies.ts';
import { SSE_GARBAGE, SSE_HEADERS } from './sse.ts';

export { errors } from './errors.ts';
export type { FailSpec } from './errors.ts';
export { defaultModels } from './models.ts';
export { WRITE_DONE, writePrompt } from './replies.ts';
export type { CopilotModel } from './models.ts';

// ---------------------------------------------------------------------------
// Public types

export const VSCODE_CLIENT_ID = 'Iv1.b507a08c87ecfe98';
export const OPENCODE_CLIENT_ID = 'Ov23li8tweQw6odWQebz';
export const DEVICE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

export type GithubApp = 'vscode' | 'opencode';

export interface FakeOptions {
  /** Listen port (default 0 = any free port). Always binds 127.0.0.1. */
  port?: number;
  /** Copilot token lifetime in seconds (default 1800; refresh_in = lifetime - 300). */
  tokenLifetimeSec?: number;
  /** Delay between SSE events in ms (default 5). */
  chunkDelayMs?: number;
  /** `endpoints.api` in the token exchange answer (default: the fake's own URL). */
  apiBase?: string;
  /** Put usage in the finish chunk instead of a trailing empty-choices chunk (default false). */
  usageInFinishChunk?: boolean;
  /** Status for a missing Editor-Version / Copilot-Integration-Id header (default 400, as the real API). */
  missingHeaderStatus?: number;
  /** Start value of the fake clock in ms (default Date.now() at start). */
  clockStartMs?: number;
  /** GitHub login of the fake user (default "octocat-fake"). */
  login?: string;
  /** Serve `/__fake/*` control routes (used by serve.ts for other processes). Default false. */
  controlRoutes?: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  /** Lowercased header names. */
  headers: Record<string, string>;
  /** Parsed JSON, or a form body as a string record, or the raw string; undefined when empty. */
  body: unknown;
  /** Wall-clock ms (Date.now()) when the request arrived. */
  at: number;
  /** Fake-clock ms when the request arrived. */
  clockAt: number;
}

export type DevicePollOutcome =
  | 'ok'
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token'
  | 'access_denied'
  | 'unsupported_grant_type'
  | 'incorrect_client_credentials'
  | 'incorrect_device_code'
  | 'bad_verification_code'
  | 'device_flow_disabled';

export interface DevicePoll {
  /** Wall-clock ms. */
  at: number;
  /** Fake-clock ms. */
  clockAt: number;
  deviceCode: string;
  clientId: string;
  outcome: DevicePollOutcome;
  /** The interval (s) in force for this device code after this poll. */
  interval: number;
}

export interface DeviceFlowState {
  /** Scripted poll answers, consumed one per poll; when empty every poll is 'ok'. */
  script: DevicePollOutcome[];
  /** `interval` (s) handed out by /login/device/code (default 5). */
  interval: number;
  /** `expires_in` (s) of new device codes (default 899, as GitHub). */
  expiresIn: number;
  userCode: string;
  /** When true, a poll sooner than `interval` after the previous one (wall clock) gets slow_down
   *  (and the interval grows by 5 s), like GitHub. Default false (the script decides). */
  enforceInterval: boolean;
  /** Prefix of issued GitHub tokens (default "gho_"). */
  tokenPrefix: string;
  /** When true, numbers in JSON device-flow answers are strings (`"interval": "10"`), as in GitHub's form-encoded replies. */
  numbersAsStrings: boolean;
  /** Every poll, in order. */
  polls: DevicePoll[];
  /** Device codes handed out, newest last. */
  deviceCodes: string[];
  /** GitHub tokens issued by 'ok' polls, newest last. */
  issuedTokens: string[];
}

export type FaultKind =
  | 'reset-before-headers'
  | 'reset-mid-stream'
  | 'silence-after-headers'
  | 'silence-mid-stream'
  | 'malformed-sse'
  | 'trickle'
  | 'hang';

export interface FaultOptions {
  /** Only requests whose path starts with this prefix match (default: any request). */
  path?: string;
  /** trickle: ms between events (default 250). */
  delayMs?: number;
  /** reset-mid-stream / silence-mid-stream: events sent before the cut (default 2);
   *  malformed-sse: events sent before the garbage line (default 1). */
  afterChunks?: number;
}

export interface Counts {
  total: number;
  deviceCode: number;
  poll: number;
  exchange: number;
  user: number;
  githubUser: number;
  models: number;
  chat: number;
  embeddings: number;
  responses: number;
  messages: number;
  notFound: number;
  /** Requests that carried an image. */
  vision: number;
  /** Requests answered by failNext. */
  failed: number;
  /** Requests handled by faultNext. */
  faulted: number;
  /** Premium requests billed (x-initiator not "agent" on a premium model). */
  premium: number;
}

export interface FakeClock {
  /** Current fake time in ms. Replace it to take full control; advanceClock() moves the default one. */
  now: () => number;
}

export interface GithubTokenOptions {
  app?: GithubApp;
  /** false → the exchange answers 403 "no Copilot access" (default true). */
  copilotAccess?: boolean;
  login?: string;
}

export interface IssuedCopilotToken {
  token: string;
  /** Unix seconds. */
  expiresAt: number;
  refreshIn: number;
}

export interface QuotaState {
  entitlement: number;
  remaining: number;
  overagePermitted: boolean;
  overageCount: number;
  resetDate: string;
}

export interface UsageLimitState {
  kind: 'weekly' | 'session';
  /** Fake-clock ms when it ends. */
  untilMs: number;
  /** The plan named in the session code (`user_global_rate_limited:<plan>`). */
  plan: string;
  /** Send `retry-after` (seconds) as well as the wait in the text. */
  retryAfterHeader: boolean;
}

export interface FakeUpstream {
  /** `http://127.0.0.1:<port>`, no trailing slash. Use it for github_url, github_api_url and copilot_api_url. */
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Requests whose content had an image. */
  readonly visionRequests: RecordedRequest[];
  readonly counts: Counts;
  readonly deviceFlow: DeviceFlowState;
  /** The `/models` list; mutate or replace freely. */
  models: CopilotModel[];
  /** How far this fake's clock is off: every answer's `Date` header is now + this (GitHub's clock as a skewed client sees it). */
  dateSkewMs: number;
  quota: QuotaState;
  tokenLifetimeSec: number;
  chunkDelayMs: number;
  usageInFinishChunk: boolean;
  /** Laid over streamed chat usage objects (bad upstream numbers); null = none. */
  usagePatch: Record<string, unknown> | null;
  apiBase: string;
  sku: string;
  missingHeaderStatus: number;
  /** Require Editor-Version + Copilot-Integration-Id with copilot (IDE) tokens (default true). */
  requireEditorHeaders: boolean;
  /** Require `Copilot-Vision-Request: true` when a request carries an image (default true). */
  requireVisionHeader: boolean;
  /** Keep Responses item ids identical across added/done/completed (default false = Copilot quirk). */
  responsesStableIds: boolean;
  /** /v1/messages takes `role: "system"` inside `messages` (default false: a 400 naming the role, as Anthropic's API without the beta). */
  acceptSystemRole: boolean;
  /** Requests whose client went away before the response finished. */
  readonly abortedRequests: number;
  /** Sum of `copilot_usage.total_nano_aiu` over every answer sent (what the account was charged). */
  chargedNanoAiu: number;
  /**
   * Copilot's weekly or session limit on this account: while the fake clock is before `untilMs`, every
   * model call answers the recorded 429 (usageLimitReply). Null: no limit.
   */
  usageLimit: UsageLimitState | null;
  clock: FakeClock;
  advanceClock(ms: number): void;
  clear(): void;
  last(pathPrefix?: string): RecordedRequest | undefined;
  addGithubToken(token: string, opts?: GithubTokenOptions): void;
  /** Creates, registers and returns a new GitHub token (as the device flow would). */
  createGithubToken(opts?: GithubTokenOptions): string;
  revokeGithubToken(token: string): void;
  /** Mints a Copilot token directly (no HTTP, not counted as an exchange). */
  mintCopilotToken(opts?: { githubToken?: string; lifetimeSec?: number }): IssuedCopilotToken;
  failNext(n: number, spec: FailSpec): void;
  faultNext(n: number, kind: FaultKind, opts?: FaultOptions): void;
  /** Drop pending failNext/faultNext injections. */
  clearInjections(): void;
  openConnections(): number;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------
// Internals

interface Reply {
  status: number;
  headers: Record<string, string>;
  /** For SSE one string per event; otherwise the whole body in one string. */
  chunks: string[];
  sse: boolean;
}

type Injection =
  | { kind: 'fail'; remaining: number; path: string | undefined; spec: FailSpec }
  | { kind: 'fault'; remaining: number; path: string | undefined; fault: FaultKind; opts: FaultOptions };

interface GithubTokenRecord {
  app: GithubApp;
  revoked: boolean;
  copilotAccess: boolean;
  login: string;
}

interface CopilotTokenRecord {
  githubToken: string;
  expiresAtSec: number;
}

interface DeviceCodeRecord {
  clientId: string;
  app: GithubApp;
  interval: number;
  expiresAtMs: number;
  lastPollAt: number | undefined;
  used: boolean;
}

const GH_DOCS = 'https://docs.github.com/rest';
const DEVICE_ERROR_URI = 'https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow';
const DEVICE_ERROR_TEXT: Record<string, string> = {
  authorization_pending: 'The authorization request is still pending.',
  slow_down: 'Too many requests have been made in the same timeframe.',
  expired_token: 'The device code has expired.',
  access_denied: 'The authorization request was denied.',
  unsupported_grant_type: 'The grant type is not supported.',
  incorrect_client_credentials: 'The client_id and/or client_secret passed are incorrect.',
  incorrect_device_code: 'The device_code provided is not valid.',
  bad_verification_code: 'The device_code provided is not valid.',
  device_flow_disabled: 'Device flow must be enabled for this app.',
};

function appForClient(clientId: string | undefined): GithubApp | undefined {
  if (clientId === VSCODE_CLIENT_ID) return 'vscode';
  if (clientId === OPENCODE_CLIENT_ID) return 'opencode';
  return undefined;
}

function randomToken(len: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(len);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length] ?? 'A';
  return out;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, chunks: [JSON.stringify(body)], sse: false };
}

function text(status: number, message: string, headers: Record<string, string> = {}): Reply {
  return { status, headers: { ...TEXT_HEADERS, ...headers }, chunks: [`${message}\n`], sse: false };
}

function sse(chunks: string[], headers: Record<string, string> = {}): Reply {
  return { status: 200, headers: { ...SSE_HEADERS, ...headers }, chunks, sse: true };
}

function fromSpec(spec: FailSpec): Reply {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(spec.headers ?? {})) headers[k.toLowerCase()] = v;
  if (spec.body === undefined) return { status: spec.status, headers, chunks: [''], sse: false };
  if (typeof spec.body === 'string') {
    return { status: spec.status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers }, chunks: [spec.body], sse: false };
  }
  return { status: spec.status, headers: { 'content-type': 'application/json', ...headers }, chunks: [JSON.stringify(spec.body)], sse: false };
}

function githubError(status: number, message: string): Reply {
  return json(status, { message, documentation_url: GH_DOCS, status: String(status) });
}

function copilotError(status: number, error: Record<string, unknown>): Reply {
  return json(status, { error });
}

function parseBody(raw: string, contentType: string): unknown {
  if (raw.length === 0) return undefined;
  if (contentType.includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(raw));
  }
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed;
  } catch {
    return raw;
  }
}

function authToken(headers: Record<string, string>): string | undefined {
  const h = headers['authorization'];
  if (h === undefined) return undefined;
  const m = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const done = (): void => resolve(Buffer.concat(chunks).toString('utf8'));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', done);
    req.on('error', done);
    req.on('close', done);
  });
}

// ---------------------------------------------------------------------------

export async function startFakeUpstream(opts: FakeOptions = {}): Promise<FakeUpstream> {
  const sockets = new Set<Socket>();
  const githubTokens = new Map<string, GithubTokenRecord>();
  const copilotTokens = new Map<string, CopilotTokenRecord>();
  const deviceCodes = new Map<string, DeviceCodeRecord>();
  const injections: Injection[] = [];
  const sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  const defaultLogin = opts.login ?? 'octocat-fake';
  let clockOffset = 0;
  const clockStart = opts.clockStartMs ?? Date.now();
  const wallStart = Date.now();
  let aborted = 0;
  let closing = false;

  const counts: Counts = {
    total: 0,
    deviceCode: 0,
    poll: 0,
    exchange: 0,
    user: 0,
    githubUser: 0,
    models: 0,
    chat: 0,
    embeddings: 0,
    responses: 0,
    messages: 0,
    notFound: 0,
    vision: 0,
    failed: 0,
    faulted: 0,
    premium: 0,
  };

  const deviceFlow: DeviceFlowState = {
    script: [],
    interval: 5,
    expiresIn: 899,
    userCode: 'ABCD-1234',
    enforceInterval: false,
    tokenPrefix: 'gho_',
    numbersAsStrings: false,
    polls: [],
    deviceCodes: [],
    issuedTokens: [],
  };

  function sleep(ms: number): Promise<void> {
    if (ms <= 0 || closing) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          sleepers.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      sleepers.add(entry);
    });
  }

  const server = http.createServer((req, res) => {
    if (fake.dateSkewMs !== 0) res.setHeader('date', new Date(Date.now() + fake.dateSkewMs).toUTCString());
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        const r = text(500, `fake upstream crashed: ${err instanceof Error ? err.message : String(err)}`);
        res.writeHead(r.status, r.headers);
        res.end(r.chunks.join(''));
      } else {
        res.destroy();
      }
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake upstream: no TCP address');
  const url = `http://127.0.0.1:${address.port}`;

  const fake: FakeUpstream = {
    url,
    port: address.port,
    requests: [],
    visionRequests: [],
    counts,
    deviceFlow,
    models: defaultModels(),
    dateSkewMs: 0,
    quota: { entitlement: 300, remaining: 240, overagePermitted: false, overageCount: 0, resetDate: '2026-12-01' },
    tokenLifetimeSec: opts.tokenLifetimeSec ?? 1800,
    chunkDelayMs: opts.chunkDelayMs ?? 5,
    usageInFinishChunk: opts.usageInFinishChunk ?? false,
    acceptSystemRole: false,
    usagePatch: null,
    apiBase: opts.apiBase ?? url,
    sku: 'free_limited_copilot',
    missingHeaderStatus: opts.missingHeaderStatus ?? 400,
    requireEditorHeaders: true,
    requireVisionHeader: true,
    responsesStableIds: false,
    chargedNanoAiu: 0,
    usageLimit: null,
    get abortedRequests(): number {
      return aborted;
    },
    clock: { now: () => clockStart + (Date.now() - wallStart) + clockOffset },
    advanceClock(ms: number): void {
      clockOffset += ms;
    },
    clear(): void {
      fake.requests.length = 0;
      fake.visionRequests.length = 0;
      deviceFlow.polls.length = 0;
      for (const k of Object.keys(counts)) {
        if (isCountKey(k)) counts[k] = 0;
      }
      aborted = 0;
    },
    last(pathPrefix?: string): RecordedRequest | undefined {
      for (let i = fake.requests.length - 1; i >= 0; i--) {
        const r = fake.requests[i];
        if (r !== undefined && (pathPrefix === undefined || r.path.startsWith(pathPrefix))) return r;
      }
      return undefined;
    },
    addGithubToken(token: string, o: GithubTokenOptions = {}): void {
      githubTokens.set(token, {
        app: o.app ?? 'vscode',
        revoked: false,
        copilotAccess: o.copilotAccess ?? true,
        login: o.login ?? defaultLogin,
      });
    },
    createGithubToken(o: GithubTokenOptions = {}): string {
      const token = deviceFlow.tokenPrefix + randomToken(36);
      fake.addGithubToken(token, o);
      return token;
    },
    revokeGithubToken(token: string): void {
      const rec = githubTokens.get(token);
      if (rec !== undefined) rec.revoked = true;
    },
    mintCopilotToken(o: { githubToken?: string; lifetimeSec?: number } = {}): IssuedCopilotToken {
      return issueCopilotToken(o.githubToken ?? '', o.lifetimeSec ?? fake.tokenLifetimeSec);
    },
    failNext(n: number, spec: FailSpec): void {
      injections.push({ kind: 'fail', remaining: n, path: spec.path, spec });
    },
    faultNext(n: number, kind: FaultKind, o: FaultOptions = {}): void {
      injections.push({ kind: 'fault', remaining: n, path: o.path, fault: kind, opts: o });
    },
    clearInjections(): void {
      injections.length = 0;
    },
    openConnections(): number {
      return sockets.size;
    },
    async close(): Promise<void> {
      closing = true;
      for (const s of sleepers) {
        clearTimeout(s.timer);
        s.resolve();
      }
      sleepers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const socketsClosed = [...sockets].map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await Promise.all([closed, ...socketsClosed]);
      sockets.clear();
    },
  };

  function isCountKey(k: string): k is keyof Counts {
    return k in counts;
  }

  function nowSec(): number {
    return Math.floor(fake.clock.now() / 1000);
  }

  function issueCopilotToken(githubToken: string, lifetimeSec: number): IssuedCopilotToken {
    const exp = nowSec() + lifetimeSec;
    const tid = randomBytes(16).toString('hex');
    const token =
      `tid=${tid};exp=${exp};sku=${fake.sku};proxy-ep=proxy.individual.githubcopilot.com;st=dotcom;` +
      `chat=1;cit=1;malfil=1;editor_preview_features=1;agent_mode=1;mcp=1;8kp=1:${randomBytes(32).toString('hex')}`;
    copilotTokens.set(token, { githubToken, expiresAtSec: exp });
    return { token, expiresAt: exp, refreshIn: Math.max(0, lifetimeSec - 300) };
  }

  function takeInjection(path: string): Injection | undefined {
    for (let i = 0; i < injections.length; i++) {
      const inj = injections[i];
      if (inj === undefined) continue;
      if (inj.path !== undefined && !path.startsWith(inj.path)) continue;
      inj.remaining--;
      if (inj.remaining <= 0) injections.splice(i, 1);
      return inj;
    }
    return undefined;
  }

  function countRoute(method: string, path: string): void {
    if (path === '/login/device/code') counts.deviceCode++;
    else if (path === '/login/oauth/access_token') counts.poll++;
    else if (path === '/copilot_internal/v2/token') counts.exchange++;
    else if (path === '/copilot_internal/user') counts.user++;
    else if (path === '/user') counts.githubUser++;
    else if (path === '/models' || path.startsWith('/models/')) counts.models++;
    else if (path === '/chat/completions') counts.chat++;
    else if (path === '/embeddings') counts.embeddings++;
    else if (path === '/responses') counts.responses++;
    else if (path === '/v1/messages') counts.messages++;
    else if (!(method === 'GET' && path === '/login/device')) counts.notFound++;
  }

  // -------------------------------------------------------------------------
  // Request pipeline

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const u = new URL(req.url ?? '/', url);
    const path = u.pathname;
    const headers = flattenHeaders(req.headers);
    let selfDestroyed = false;
    res.on('close', () => {
      if (!res.writableFinished && !selfDestroyed && !closing) aborted++;
    });
    const raw = await readBody(req);
    const body = parseBody(raw, headers['content-type'] ?? '');

    if (opts.controlRoutes === true && path.startsWith('/__fake/')) {
      await deliver(res, control(method, path, body), undefined);
      return;
    }

    const record: RecordedRequest = {
      method,
      path,
      query: Object.fromEntries(u.searchParams),
      headers,
      body,
      at: Date.now(),
      clockAt: fake.clock.now(),
    };
    fake.requests.push(record);
    counts.total++;
    countRoute(method, path);

    const inj = takeInjection(path);
    if (inj?.kind === 'fail') {
      counts.failed++;
      await deliver(res, fromSpec(inj.spec), undefined);
      return;
    }
    if (inj?.kind === 'fault') {
      counts.faulted++;
      if (inj.fault === 'reset-before-headers') {
        selfDestroyed = true;
        req.socket.destroy();
        return;
      }
      if (inj.fault === 'hang') return;
    }
    const reply = route(method, path, record);
    const fault = inj?.kind === 'fault' ? inj : undefined;
    await deliver(res, reply, fault, () => {
      selfDestroyed = true;
    });
  }

  function waitClosed(res: ServerResponse): Promise<void> {
    if (res.destroyed || closing) return Promise.resolve();
    return new Promise((resolve) => res.once('close', () => resolve()));
  }

  async function writeEvents(res: ServerResponse, chunks: string[], delayMs: number): Promise<boolean> {
    for (let i = 0; i < chunks.length; i++) {
      if (i > 0) await sleep(delayMs);
      if (res.destroyed || closing) return false;
      res.write(chunks[i] ?? '');
    }
    return true;
  }

  async function deliver(
    res: ServerResponse,
    reply: Reply,
    fault: { fault: FaultKind; opts: FaultOptions } | undefined,
    markSelfDestroyed: () => void = () => undefined,
  ): Promise<void> {
    if (res.destroyed || closing) return;
    const body = reply.chunks.join('');
    if (fault === undefined) {
      if (!reply.sse) {
        res.writeHead(reply.status, { ...reply.headers, 'content-length': String(Buffer.byteLength(body)) });
        res.end(body);
        return;
      }
      res.writeHead(reply.status, reply.headers);
      res.flushHeaders();
      if (await writeEvents(res, reply.chunks, fake.chunkDelayMs)) res.end();
      return;
    }
    // Non-SSE bodies are cut into pieces so the stream-ish faults still apply.
    const pieces = reply.sse ? reply.chunks : splitBody(body);
    const headers = reply.sse ? reply.headers : { ...reply.headers, 'content-length': String(Buffer.byteLength(body)) };
    const cut = fault.opts.afterChunks ?? 2;
    switch (fault.fault) {
      case 'reset-mid-stream': {
        res.writeHead(reply.status, headers);
        res.flushHeaders();
        await writeEvents(res, pieces.slice(0, cut), fake.chunkDelayMs);
        await sleep(fake.chunkDelayMs);
        markSelfDestroyed();
        res.socket?.destroy();
        return;
      }
      case 'silence-after-headers': {
        res.writeHead(reply.status, headers);
        res.flushHeaders();
        await waitClosed(res);
        return;
      }
      case 'silence-mid-stream': {
        res.writeHead(reply.status, headers);
        res.flushHeaders();
        await writeEvents(res, pieces.slice(0, cut), fake.chunkDelayMs);
        await waitClosed(res);
        return;
      }
      case 'malformed-sse': {
        if (!reply.sse) {
          res.writeHead(reply.status, { ...reply.headers, 'content-length': String(Buffer.byteLength('{not json')) });
          res.end('{not json');
          return;
        }
        const at = fault.opts.afterChunks ?? 1;
        const withGarbage = [...pieces.slice(0, at), SSE_GARBAGE, ...pieces.slice(at)];
        res.writeHead(reply.status, headers);
        res.flushHeaders();
        if (await writeEvents(res, withGarbage, fake.chunkDelayMs)) res.end();
        return;
      }
      case 'trickle': {
        res.writeHead(reply.status, headers);
        res.flushHeaders();
        if (await writeEvents(res, pieces, fault.opts.delayMs ?? 250)) res.end();
        return;
      }
      default: {
        // reset-before-headers and hang are handled before routing.
        res.writeHead(reply.status, headers);
        res.end(body);
      }
    }
  }

  function splitBody(body: string): string[] {
    if (body.length < 4) return [body];
    const q = Math.ceil(body.length / 4);
    return [body.slice(0, q), body.slice(q, 2 * q), body.slice(2 * q, 3 * q), body.slice(3 * q)];
  }

  // -------------------------------------------------------------------------
  // Routing

  function route(method: string, path: string, r: RecordedRequest): Reply {
    if (method === 'POST' && path === '/login/device/code') return deviceCode(r);
    if (method === 'POST' && path === '/login/oauth/access_token') return poll(r);
    if (method === 'GET' && path === '/login/device') {
      return {
        status: 200,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        chunks: [`<!doctype html><title>Device Activation</title><h1>Enter the code shown on your device</h1><p>${deviceFlow.userCode}</p>`],
        sse: false,
      };
    }
    if (method === 'GET' && path === '/copilot_internal/v2/token') return exchange(r);
    if (method === 'GET' && path === '/copilot_internal/user') return copilotUser(r);
    if (method === 'GET' && path === '/user') return githubUser(r);
    if (path === '/models' || path === '/chat/completions' || path === '/embeddings' || path === '/responses' || path === '/v1/messages') {
      return copilotRoute(method, path, r);
    }
    if (path.startsWith('/login/') || path.startsWith('/copilot_internal/') || path.startsWith('/user')) {
      return githubError(404, 'Not Found');
    }
    // Copilot's API is a Go service: unknown paths get the stock mux answer.
    return text(404, '404 page not found');
  }

  // ---- GitHub device flow --------------------------------------------------

  function oauthParams(r: RecordedRequest): Record<string, string> {
    const out: Record<string, string> = { ...r.query };
    if (isRecord(r.body)) {
      for (const [k, v] of Object.entries(r.body)) if (typeof v === 'string') out[k] = v;
    }
    return out;
  }

  /** GitHub answers these endpoints form-encoded unless the client asks for JSON. */
  function oauthReply(r: RecordedRequest, payload: Record<string, string | number>, status = 200): Reply {
    const accept = r.headers['accept'] ?? '';
    if (accept.includes('json')) {
      if (!deviceFlow.numbersAsStrings) return json(status, payload);
      return json(status, Object.fromEntries(Object.entries(payload).map(([k, v]) => [k, String(v)])));
    }
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(payload)) form.set(k, String(v));
    return { status, headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, chunks: [form.toString()], sse: false };
  }

  function oauthError(r: RecordedRequest, error: string, extra: Record<string, string | number> = {}): Reply {
    return oauthReply(r, { error, error_description: DEVICE_ERROR_TEXT[error] ?? error, error_uri: DEVICE_ERROR_URI, ...extra });
  }

  function deviceCode(r: RecordedRequest): Reply {
    const p = oauthParams(r);
    const clientId = p['client_id'];
    const app = appForClient(clientId);
    if (app === undefined || clientId === undefined) return oauthError(r, 'incorrect_client_credentials');
    const code = randomBytes(20).toString('hex');
    deviceCodes.set(code, {
      clientId,
      app,
      interval: deviceFlow.interval,
      expiresAtMs: fake.clock.now() + deviceFlow.expiresIn * 1000,
      lastPollAt: undefined,
      used: false,
    });
    deviceFlow.deviceCodes.push(code);
    return oauthReply(r, {
      device_code: code,
      user_code: deviceFlow.userCode,
      verification_uri: `${url}/login/device`,
      expires_in: deviceFlow.expiresIn,
      interval: deviceFlow.interval,
    });
  }

  function poll(r: RecordedRequest): Reply {
    const p = oauthParams(r);
    const clientId = p['client_id'] ?? '';
    const code = p['device_code'] ?? '';
    const dc = deviceCodes.get(code);
    const wallNow = Date.now();
    const logPoll = (outcome: DevicePollOutcome): void => {
      deviceFlow.polls.push({ at: wallNow, clockAt: fake.clock.now(), deviceCode: code, clientId, outcome, interval: dc?.interval ?? deviceFlow.interval });
    };
    const fail = (outcome: DevicePollOutcome, extra: Record<string, string | number> = {}): Reply => {
      logPoll(outcome);
      return oauthError(r, outcome, extra);
    };
    if (appForClient(clientId) === undefined) return fail('incorrect_client_credentials');
    if (p['grant_type'] !== DEVICE_GRANT_TYPE) return fail('unsupported_grant_type');
    if (dc === undefined || dc.clientId !== clientId || dc.used) return fail('bad_verification_code');
    const previous = dc.lastPollAt;
    dc.lastPollAt = wallNow;
    if (fake.clock.now() >= dc.expiresAtMs) return fail('expired_token');
    if (deviceFlow.enforceInterval && previous !== undefined && wallNow - previous < dc.interval * 1000) {
      dc.interval += 5;
      return fail('slow_down', { interval: dc.interval });
    }
    const outcome = deviceFlow.script.shift() ?? 'ok';
    if (outcome === 'slow_down') {
      dc.interval += 5;
      return fail('slow_down', { interval: dc.interval });
    }
    if (outcome !== 'ok') return fail(outcome);
    dc.used = true;
    const token = deviceFlow.tokenPrefix + randomToken(36);
    fake.addGithubToken(token, { app: dc.app });
    deviceFlow.issuedTokens.push(token);
    logPoll('ok');
    return oauthReply(r, { access_token: token, token_type: 'bearer', scope: 'read:user' });
  }

  // ---- GitHub API -----------------------------------------------------------

  function githubAuth(r: RecordedRequest): GithubTokenRecord | Reply {
    const token = authToken(r.headers);
    if (token === undefined) return githubError(401, 'Requires authentication');
    const rec = githubTokens.get(token);
    if (rec === undefined || rec.revoked) return githubError(401, 'Bad credentials');
    return rec;
  }

  function isReply(v: GithubTokenRecord | Reply): v is Reply {
    return 'chunks' in v;
  }

  function exchange(r: RecordedRequest): Reply {
    const auth = githubAuth(r);
    if (isReply(auth)) return auth;
    if (auth.app === 'opencode') return githubError(404, 'Not Found');
    if (!auth.copilotAccess) {
      return json(403, {
        error_details: {
          url: 'https://github.com/features/copilot',
          message: `No access to GitHub Copilot found. You are currently logged in as ${auth.login}.`,
          title: 'Copilot Access Required',
          notification_id: 'no_copilot_access',
        },
        message: 'Resource not accessible by integration',
      });
    }
    const token = authToken(r.headers) ?? '';
    const issued = issueCopilotToken(token, fake.tokenLifetimeSec);
    const tid = /tid=([0-9a-f]+)/.exec(issued.token)?.[1] ?? '';
    return json(200, {
      annotations_enabled: false,
      blackbird_clientside_indexing: false,
      chat_enabled: true,
      chat_jetbrains_enabled: true,
      code_quote_enabled: true,
      code_review_enabled: false,
      codesearch: false,
      copilotignore_enabled: false,
      endpoints: {
        api: fake.apiBase,
        'origin-tracker': 'https://origin-tracker.individual.githubcopilot.com',
        proxy: 'https://proxy.individual.githubcopilot.com',
        telemetry: 'https://telemetry.individual.githubcopilot.com',
      },
      expires_at: issued.expiresAt,
      individual: true,
      limited_user_quotas: null,
      limited_user_reset_date: null,
      prompt_8k: true,
      public_suggestions: 'disabled',
      refresh_in: issued.refreshIn,
      sku: fake.sku,
      snippy_load_test_enabled: false,
      telemetry: 'disabled',
      token: issued.token,
      tracking_id: tid,
      vsc_electron_fetcher_v2: false,
      xcode: true,
      xcode_chat: false,
    });
  }

  function quotaSnapshot(id: string, unlimited: boolean): Record<string, unknown> {
    const q = fake.quota;
    const ent = unlimited ? 0 : q.entitlement;
    const rem = unlimited ? 0 : q.remaining;
    const pct = unlimited ? 100 : q.entitlement > 0 ? Math.round((q.remaining / q.entitlement) * 1000) / 10 : 0;
    return {
      entitlement: ent,
      overage_count: unlimited ? 0 : q.overageCount,
      overage_permitted: unlimited ? false : q.overagePermitted,
      percent_remaining: pct,
      quota_id: id,
      quota_remaining: rem,
      remaining: rem,
      unlimited,
      timestamp_utc: new Date(fake.clock.now()).toISOString(),
    };
  }

  function copilotUser(r: RecordedRequest): Reply {
    const auth = githubAuth(r);
    if (isReply(auth)) return auth;
    if (auth.app === 'opencode') return githubError(404, 'Not Found');
    return json(200, {
      login: auth.login,
      access_type_sku: fake.sku,
      analytics_tracking_id: randomBytes(16).toString('hex'),
      assigned_date: '2025-01-15T10:00:00+00:00',
      can_signup_for_limited: false,
      chat_enabled: auth.copilotAccess,
      copilot_plan: 'individual',
      codex_agent_enabled: false,
      endpoints: {
        api: fake.apiBase,
        'origin-tracker': 'https://origin-tracker.individual.githubcopilot.com',
        proxy: 'https://proxy.individual.githubcopilot.com',
        telemetry: 'https://telemetry.individual.githubcopilot.com',
      },
      organization_login_list: [],
      organization_list: [],
      quota_reset_date: fake.quota.resetDate,
      quota_reset_date_utc: `${fake.quota.resetDate}T00:00:00.000Z`,
      quota_snapshots: {
        chat: quotaSnapshot('chat', true),
        completions: quotaSnapshot('completions', true),
        premium_interactions: quotaSnapshot('premium_interactions', false),
      },
    });
  }

  function githubUser(r: RecordedRequest): Reply {
    const auth = githubAuth(r);
    if (isReply(auth)) return auth;
    return json(200, {
      login: auth.login,
      id: 583231,
      node_id: 'MDQ6VXNlcjU4MzIzMQ==',
      avatar_url: 'https://avatars.githubusercontent.com/u/583231?v=4',
      type: 'User',
      site_admin: false,
      name: 'Fake Octocat',
    });
  }

  // ---- Copilot API ----------------------------------------------------------

  type CopilotAuth = { kind: 'ide' } | { kind: 'github' };

  function copilotAuth(r: RecordedRequest): CopilotAuth | Reply {
    const token = authToken(r.headers);
    if (token === undefined) return text(401, 'unauthorized: authorization header is missing');
    const ct = copilotTokens.get(token);
    if (ct !== undefined) {
      if (nowSec() >= ct.expiresAtSec) return text(401, 'unauthorized: token expired');
      if (fake.requireEditorHeaders) {
        if (r.headers['editor-version'] === undefined) {
          return text(fake.missingHeaderStatus, 'bad request: missing Editor-Version header for IDE auth');
        }
        if (r.headers['copilot-integration-id'] === undefined) {
          return text(fake.missingHeaderStatus, 'bad request: missing required Copilot-Integration-Id header');
        }
      }
      return { kind: 'ide' };
    }
    const gh = githubTokens.get(token);
    if (gh !== undefined && gh.app === 'opencode' && !gh.revoked) return { kind: 'github' };
    return text(401, 'unauthorized: token invalid');
  }

  function quotaHeaders(): Record<string, string> {
    const q = fake.quota;
    const pct = q.entitlement > 0 ? (q.remaining / q.entitlement) * 100 : 0;
    const rst = encodeURIComponent(`${q.resetDate}T00:00:00Z`);
    return {
      'x-quota-snapshot-premium_interactions': `ent=${q.entitlement}&ov=${q.overageCount.toFixed(1)}&ovPerm=${String(q.overagePermitted)}&rem=${pct.toFixed(1)}&rst=${rst}`,
      'x-quota-snapshot-chat': `ent=-1&ov=0.0&ovPerm=false&rem=100.0&rst=${rst}`,
    };
  }

  function findModel(id: string): CopilotModel | undefined {
    return fake.models.find((m) => m.id === id);
  }

  function modelNotSupported(): Reply {
    return copilotError(400, {
      message: 'The requested model is not supported.',
      code: 'model_not_supported',
      param: 'model',
      type: 'invalid_request_error',
    });
  }

  /** Recorded (cc-switch issue 1681, 2026-03-25): a JSON body sent as text/plain, the model quoted, no param or type. */
  function unsupportedApi(model: string, endpoint: string): Reply {
    return text(400, JSON.stringify({ error: { message: `model ${JSON.stringify(model)} is not accessible via the ${endpoint} endpoint`, code: 'unsupported_api_for_model' } }));
  }

  function badBody(message: string): Reply {
    return copilotError(400, { message, code: 'invalid_request_body', param: null, type: 'invalid_request_error' });
  }

  /** Common checks for the chat-like endpoints; returns the model or an error reply. */
  function chatModel(r: RecordedRequest, modelId: string, endpoint: string, conv: Conversation): CopilotModel | Reply {
    const model = findModel(modelId);
    if (model === undefined || model.capabilities.type !== 'chat') return modelNotSupported();
    if (!endpointsOf(model).includes(endpoint)) return unsupportedApi(modelId, endpoint);
    if (conv.hasImage) {
      if (fake.requireVisionHeader && r.headers['copilot-vision-request'] !== 'true') {
        return text(400, 'bad request: missing required Copilot-Vision-Request header for vision requests');
      }
      counts.vision++;
      fake.visionRequests.push(r);
    }
    const initiator = r.headers['x-initiator'];
    if (model.billing?.is_premium === true && initiator !== 'agent') {
      counts.premium++;
      fake.quota.remaining = Math.max(0, fake.quota.remaining - model.billing.multiplier);
    }
    return model;
  }

  function isModel(v: CopilotModel | Reply): v is CopilotModel {
    return 'capabilities' in v;
  }

  function usageLimitReply(l: UsageLimitState, leftMs: number): Reply {
    return fromSpec(usageLimitSpec(l, leftMs));
  }

  function copilotRoute(method: string, path: string, r: RecordedRequest): Reply {
    const auth = copilotAuth(r);
    if ('chunks' in auth) return auth;
    if (path !== '/models' && fake.usageLimit) {
      const left = fake.usageLimit.untilMs - fake.clock.now();
      if (left > 0) return usageLimitReply(fake.usageLimit, left);
      fake.usageLimit = null;
    }
    const requestId = `${randomBytes(4).toString('hex').toUpperCase()}:${randomBytes(6).toString('hex').toUpperCase()}`;
    const base: Record<string, string> = { 'x-github-request-id': requestId };
    if (path === '/models') {
      if (method !== 'GET') return text(405, 'method not allowed');
      return json(200, { data: fake.models, object: 'list' }, base);
    }
    if (method !== 'POST') return text(405, 'method not allowed');
    if (typeof r.body !== 'object' || r.body === null) return badBody('Request body is not valid JSON');

    if (path === '/embeddings') {
      const p = parseEmbeddingsInput(r.body);
      if (typeof p === 'string') return badBody(p);
      const model = findModel(p.model);
      if (model === undefined || model.capabilities.type !== 'embeddings') return modelNotSupported();
      return json(200, embeddingsBody(model.version, p.inputs, p.base64), base);
    }

    if (path === '/chat/completions') {
      const p = parseChatRequest(r.body);
      if (typeof p === 'string') return badBody(p);
      const model = chatModel(r, p.model, '/chat/completions', p.conv);
      if (!isModel(model)) return model;
      const outcome = decide(p.conv);
      fake.chargedNanoAiu += nanoAiuFor(tokenCounts(p.conv, outcome));
      const meta = newChatMeta(model.version, fake.clock.now());
      const headers = { ...base, ...quotaHeaders() };
      if (!p.stream) return json(200, chatCompletionBody(meta, p.conv, outcome), headers);
      return sse(chatStreamEvents(meta, p.conv, outcome, { includeUsage: p.includeUsage, usageInFinishChunk: fake.usageInFinishChunk, usagePatch: fake.usagePatch }), headers);
    }

    if (path === '/responses') {
      const p = parseResponsesRequest(r.body);
      if (typeof p === 'string') return badBody(p);
      const model = chatModel(r, p.model, '/responses', p.conv);
      if (!isModel(model)) return model;
      const outcome = decide(p.conv);
      fake.chargedNanoAiu += nanoAiuFor(tokenCounts(p.conv, outcome));
      const headers = { ...base, ...quotaHeaders() };
      if (!p.stream) return json(200, responsesBody(model.id, fake.clock.now(), p.conv, outcome), headers);
      return sse(responsesStreamEvents(model.id, fake.clock.now(), p.conv, outcome, fake.responsesStableIds), headers);
    }

    // /v1/messages
    const p = parseMessagesRequest(r.body, fake.acceptSystemRole);
    if (typeof p === 'string') return json(400, { type: 'error', error: { type: 'invalid_request_error', message: p } });
    const model = chatModel(r, p.model, '/v1/messages', p.conv);
    if (!isModel(model)) return model;
    const outcome = decide(p.conv);
    fake.chargedNanoAiu += nanoAiuFor(tokenCounts(p.conv, outcome));
    const headers = { ...base, ...quotaHeaders() };
    if (!p.stream) return json(200, messagesBody(model.version, p.conv, outcome), headers);
    return sse(messagesStreamEvents(model.version, p.conv, outcome), headers);
  }

  // ---- control routes (serve.ts) -----------------------------------------------

  function control(method: string, path: string, body: unknown): Reply {
    const n = num(body, 'n') ?? 1;
    if (method === 'GET' && path === '/__fake/state') {
      return json(200, { counts, abortedRequests: aborted, openConnections: sockets.size, clock: fake.clock.now(), polls: deviceFlow.polls });
    }
    if (method === 'GET' && path === '/__fake/requests') return json(200, fake.requests);
    if (method !== 'POST') return text(404, '404 page not found');
    switch (path) {
      case '/__fake/clear':
        fake.clear();
        fake.clearInjections();
        return json(200, { ok: true });
      case '/__fake/fail': {
        const status = num(body, 'status');
        if (status === undefined) return json(400, { error: 'status is required' });
        const spec: FailSpec = { status };
        const b = isRecord(body) ? body['body'] : undefined;
        if (typeof b === 'string' || (typeof b === 'object' && b !== null)) spec.body = b;
        const h = isRecord(body) ? body['headers'] : undefined;
        if (isRecord(h)) {
          const hs: Record<string, string> = {};
          for (const [k, v] of Object.entries(h)) if (typeof v === 'string') hs[k] = v;
          spec.headers = hs;
        }
        const p = str(body, 'path');
        if (p !== undefined) spec.path = p;
        fake.failNext(n, spec);
        return json(200, { ok: true });
      }
      case '/__fake/fault': {
        const kind = str(body, 'kind');
        const kinds: FaultKind[] = ['reset-before-headers', 'reset-mid-stream', 'silence-after-headers', 'silence-mid-stream', 'malformed-sse', 'trickle', 'hang'];
        const k = kinds.find((x) => x === kind);
        if (k === undefined) return json(400, { error: `kind must be one of ${kinds.join(', ')}` });
        const o: FaultOptions = {};
        const p = str(body, 'path');
        if (p !== undefined) o.path = p;
        const d = num(body, 'delayMs');
        if (d !== undefined) o.delayMs = d;
        const a = num(body, 'afterChunks');
        if (a !== undefined) o.afterChunks = a;
        fake.faultNext(n, k, o);
        return json(200, { ok: true });
      }
      case '/__fake/device-script': {
        const s = isRecord(body) ? body['script'] : undefined;
        if (!Array.isArray(s)) return json(400, { error: 'script must be an array' });
        deviceFlow.script = s.filter((x): x is DevicePollOutcome => typeof x === 'string' && (x === 'ok' || x in DEVICE_ERROR_TEXT));
        return json(200, { ok: true, script: deviceFlow.script });
      }
      case '/__fake/github-token': {
        const app = str(body, 'app') === 'opencode' ? 'opencode' : 'vscode';
        const t = str(body, 'token');
        if (t !== undefined) {
          fake.addGithubToken(t, { app });
          return json(200, { token: t });
        }
        return json(200, { token: fake.createGithubToken({ app }) });
      }
      case '/__fake/revoke': {
        const t = str(body, 'token');
        if (t !== undefined) fake.revokeGithubToken(t);
        return json(200, { ok: true });
      }
      case '/__fake/copilot-token':
        return json(200, fake.mintCopilotToken());
      case '/__fake/usage-limit': {
        const kind = str(body, 'kind');
        if (kind !== 'weekly' && kind !== 'session') {
          fake.usageLimit = null;
          return json(200, { ok: true, usageLimit: null });
        }
        fake.usageLimit = { kind, untilMs: fake.clock.now() + (num(body, 'seconds') ?? 3600) * 1000, plan: str(body, 'plan') ?? 'individual_pro', retryAfterHeader: isRecord(body) && body['retryAfter'] === true };
        return json(200, { ok: true, usageLimit: fake.usageLimit });
      }
      case '/__fake/advance-clock':
        fake.advanceClock(num(body, 'ms') ?? 0);
        return json(200, { clock: fake.clock.now() });
      case '/__fake/settings': {
        const lt = num(body, 'tokenLifetimeSec');
        if (lt !== undefined) fake.tokenLifetimeSec = lt;
        const cd = num(body, 'chunkDelayMs');
        if (cd !== undefined) fake.chunkDelayMs = cd;
        const uf = isRecord(body) ? body['usageInFinishChunk'] : undefined;
        if (typeof uf === 'boolean') fake.usageInFinishChunk = uf;
        return json(200, { ok: true });
      }
      default:
        return text(404, '404 page not found');
    }
  }

  return fake;
}
