// Tests of the fake GitHub + Copilot upstream itself (run: npx tsx --test test/fake-upstream/fake-upstream.test.ts).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { DEVICE_GRANT_TYPE, OPENCODE_CLIENT_ID, VSCODE_CLIENT_ID, errors, startFakeUpstream } from './index.ts';
import type { FakeOptions, FakeUpstream } from './index.ts';
import { arr, isRecord, num, rec, str } from './guards.ts';

const EDITOR_HEADERS: Record<string, string> = {
  'Editor-Version': 'vscode/1.104.0',
  'Editor-Plugin-Version': 'copilot-chat/0.31.0',
  'Copilot-Integration-Id': 'vscode-chat',
};

async function withFake(fn: (fake: FakeUpstream) => Promise<void>, opts?: FakeOptions): Promise<void> {
  const fake = await startFakeUpstream(opts);
  try {
    await fn(fake);
  } finally {
    await fake.close();
  }
}

async function jsonOf(res: Response): Promise<unknown> {
  const t = await res.text();
  const parsed: unknown = JSON.parse(t);
  return parsed;
}

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

function copilotHeaders(token: string, extra: Record<string, string> = {}): Record<string, string> {
  return { Authorization: `Bearer ${token}`, ...EDITOR_HEADERS, ...extra };
}

interface SseEvent {
  event: string | undefined;
  data: string;
  /** ms since the request was sent */
  at: number;
}

/** Reads an SSE body incrementally, timestamping each event as it arrives. */
async function readSse(res: Response, started: number): Promise<SseEvent[]> {
  assert.ok(res.body, 'response has a body');
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  let buf = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let idx: number;
    while ((idx = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, idx);
      buf = buf.slice(idx + 2);
      let event: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      events.push({ event, data: data.join('\n'), at: Date.now() - started });
    }
  }
  return events;
}

function parseData(e: SseEvent): unknown {
  const parsed: unknown = JSON.parse(e.data);
  return parsed;
}

/** Runs the VS Code device flow against the fake and exchanges the token. */
async function signIn(fake: FakeUpstream): Promise<{ github: string; copilot: string; exchange: unknown }> {
  const dc = await jsonOf(await post(`${fake.url}/login/device/code`, { client_id: VSCODE_CLIENT_ID, scope: 'read:user' }, { accept: 'application/json' }));
  const deviceCode = str(dc, 'device_code') ?? '';
  const tok = await jsonOf(
    await post(`${fake.url}/login/oauth/access_token`, { client_id: VSCODE_CLIENT_ID, device_code: deviceCode, grant_type: DEVICE_GRANT_TYPE }, { accept: 'application/json' }),
  );
  const github = str(tok, 'access_token') ?? '';
  const ex = await jsonOf(await fetch(`${fake.url}/copilot_internal/v2/token`, { headers: { authorization: `token ${github}`, accept: 'application/json' } }));
  return { github, copilot: str(ex, 'token') ?? '', exchange: ex };
}

// ---------------------------------------------------------------------------

describe('device flow', () => {
  test('device code, scripted polls (pending, slow_down, ok), then the code is spent', async () => {
    await withFake(async (fake) => {
      fake.deviceFlow.script = ['authorization_pending', 'slow_down', 'ok'];
      const res = await post(`${fake.url}/login/device/code`, { client_id: VSCODE_CLIENT_ID, scope: 'read:user' }, { accept: 'application/json' });
      assert.equal(res.status, 200);
      const dc = await jsonOf(res);
      assert.equal(str(dc, 'user_code'), 'ABCD-1234');
      assert.equal(str(dc, 'verification_uri'), `${fake.url}/login/device`);
      assert.equal(num(dc, 'interval'), 5);
      assert.equal(num(dc, 'expires_in'), 899);
      const deviceCode = str(dc, 'device_code');
      assert.ok(deviceCode !== undefined && deviceCode.length > 0);

      const pollOnce = async (): Promise<unknown> => {
        const r = await post(
          `${fake.url}/login/oauth/access_token`,
          { client_id: VSCODE_CLIENT_ID, device_code: deviceCode, grant_type: DEVICE_GRANT_TYPE },
          { accept: 'application/json' },
        );
        assert.equal(r.status, 200, 'GitHub answers 200 to every poll');
        return jsonOf(r);
      };
      const p1 = await pollOnce();
      assert.equal(str(p1, 'error'), 'authorization_pending');
      assert.equal(str(p1, 'error_description'), 'The authorization request is still pending.');
      assert.match(str(p1, 'error_uri') ?? '', /^https:\/\/docs\.github\.com\//);
      const p2 = await pollOnce();
      assert.equal(str(p2, 'error'), 'slow_down');
      assert.equal(num(p2, 'interval'), 10);
      const p3 = await pollOnce();
      assert.match(str(p3, 'access_token') ?? '', /^gho_[A-Za-z0-9]{36}$/);
      assert.equal(str(p3, 'token_type'), 'bearer');
      assert.equal(str(p3, 'scope'), 'read:user');
      const p4 = await pollOnce();
      assert.equal(str(p4, 'error'), 'bad_verification_code');

      assert.deepEqual(
        fake.deviceFlow.polls.map((p) => p.outcome),
        ['authorization_pending', 'slow_down', 'ok', 'bad_verification_code'],
      );
      assert.deepEqual(fake.deviceFlow.polls.map((p) => p.interval).slice(0, 3), [5, 10, 10]);
      const ats = fake.deviceFlow.polls.map((p) => p.at);
      assert.deepEqual([...ats].sort((a, b) => a - b), ats, 'poll timestamps are recorded in order');
      assert.equal(fake.counts.deviceCode, 1);
      assert.equal(fake.counts.poll, 4);
      assert.deepEqual(fake.deviceFlow.issuedTokens, [str(p3, 'access_token')]);
    });
  });

  test('form-encoded requests, and form-encoded answers without Accept: application/json', async () => {
    await withFake(async (fake) => {
      const res = await fetch(`${fake.url}/login/device/code`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: OPENCODE_CLIENT_ID, scope: 'read:user' }).toString(),
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/x-www-form-urlencoded/);
      const form = new URLSearchParams(await res.text());
      assert.equal(form.get('user_code'), 'ABCD-1234');
      const deviceCode = form.get('device_code') ?? '';
      const poll = await fetch(`${fake.url}/login/oauth/access_token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ client_id: OPENCODE_CLIENT_ID, device_code: deviceCode, grant_type: DEVICE_GRANT_TYPE }).toString(),
      });
      const tok = await jsonOf(poll);
      assert.match(str(tok, 'access_token') ?? '', /^gho_/);
      assert.deepEqual(fake.last('/login/oauth')?.body, { client_id: OPENCODE_CLIENT_ID, device_code: deviceCode, grant_type: DEVICE_GRANT_TYPE });
    });
  });

  test('error answers: unknown client, unknown device code, wrong grant type, expiry, access_denied', async () => {
    await withFake(async (fake) => {
      const accept = { accept: 'application/json' };
      const bad = await jsonOf(await post(`${fake.url}/login/device/code`, { client_id: 'Iv1.nope', scope: 'read:user' }, accept));
      assert.equal(str(bad, 'error'), 'incorrect_client_credentials');
      assert.ok(str(bad, 'error_description'));
      assert.ok(str(bad, 'error_uri'));

      const pollWith = async (body: Record<string, string>): Promise<unknown> => jsonOf(await post(`${fake.url}/login/oauth/access_token`, body, accept));
      assert.equal(str(await pollWith({ client_id: VSCODE_CLIENT_ID, device_code: 'nope', grant_type: DEVICE_GRANT_TYPE }), 'error'), 'bad_verification_code');
      assert.equal(str(await pollWith({ client_id: 'Ov23-unknown', device_code: 'nope', grant_type: DEVICE_GRANT_TYPE }), 'error'), 'incorrect_client_credentials');

      const dc = await jsonOf(await post(`${fake.url}/login/device/code`, { client_id: VSCODE_CLIENT_ID, scope: 'read:user' }, accept));
      const code = str(dc, 'device_code') ?? '';
      assert.equal(str(await pollWith({ client_id: VSCODE_CLIENT_ID, device_code: code, grant_type: 'authorization_code' }), 'error'), 'unsupported_grant_type');
      fake.deviceFlow.script = ['access_denied'];
      assert.equal(str(await pollWith({ client_id: VSCODE_CLIENT_ID, device_code: code, grant_type: DEVICE_GRANT_TYPE }), 'error'), 'access_denied');
      fake.advanceClock(900_000);
      assert.equal(str(await pollWith({ client_id: VSCODE_CLIENT_ID, device_code: code, grant_type: DEVICE_GRANT_TYPE }), 'error'), 'expired_token');
    });
  });

  test('enforceInterval answers slow_down to a poll that comes too early', async () => {
    await withFake(async (fake) => {
      fake.deviceFlow.enforceInterval = true;
      fake.deviceFlow.interval = 1;
      fake.deviceFlow.script = ['authorization_pending'];
      const accept = { accept: 'application/json' };
      const dc = await jsonOf(await post(`${fake.url}/login/device/code`, { client_id: VSCODE_CLIENT_ID, scope: 'read:user' }, accept));
      const body = { client_id: VSCODE_CLIENT_ID, device_code: str(dc, 'device_code') ?? '', grant_type: DEVICE_GRANT_TYPE };
      assert.equal(str(await jsonOf(await post(`${fake.url}/login/oauth/access_token`, body, accept)), 'error'), 'authorization_pending');
      const early = await jsonOf(await post(`${fake.url}/login/oauth/access_token`, body, accept));
      assert.equal(str(early, 'error'), 'slow_down');
      assert.equal(num(early, 'interval'), 6);
    });
  });
});

describe('token exchange', () => {
  test('a vscode-app token is exchanged for a Copilot token of the real shape', async () => {
    await withFake(async (fake) => {
      const { copilot, exchange } = await signIn(fake);
      assert.match(copilot, /^tid=[0-9a-f]{32};exp=\d+;sku=free_limited_copilot;proxy-ep=proxy\.individual\.githubcopilot\.com;st=dotcom;chat=1;.*8kp=1:[0-9a-f]{64}$/);
      const expiresAt = num(exchange, 'expires_at') ?? 0;
      assert.ok(Math.abs(expiresAt - (Math.floor(fake.clock.now() / 1000) + 1800)) <= 1);
      assert.equal(num(exchange, 'refresh_in'), 1500);
      assert.match(copilot, new RegExp(`;exp=${expiresAt};`));
      const endpoints = rec(exchange, 'endpoints');
      assert.equal(str(endpoints, 'api'), fake.url);
      assert.equal(str(endpoints, 'proxy'), 'https://proxy.individual.githubcopilot.com');
      assert.ok(str(endpoints, 'telemetry'));
      assert.ok(str(endpoints, 'origin-tracker'));
      assert.equal(str(exchange, 'sku'), 'free_limited_copilot');
      assert.equal(isRecord(exchange) ? exchange['chat_enabled'] : undefined, true);
      assert.equal(fake.counts.exchange, 1);
    });
  });

  test('Bearer scheme, lifetime and apiBase knobs', async () => {
    await withFake(
      async (fake) => {
        const gh = fake.createGithubToken();
        const res = await fetch(`${fake.url}/copilot_internal/v2/token`, { headers: { authorization: `Bearer ${gh}` } });
        assert.equal(res.status, 200);
        const ex = await jsonOf(res);
        assert.equal(num(ex, 'refresh_in'), 300);
        assert.equal(str(rec(ex, 'endpoints'), 'api'), 'https://api.example.test');
      },
      { tokenLifetimeSec: 600, apiBase: 'https://api.example.test' },
    );
  });

  test('unknown, revoked, opencode-app and no-access tokens', async () => {
    await withFake(async (fake) => {
      const get = (t: string): Promise<Response> => fetch(`${fake.url}/copilot_internal/v2/token`, { headers: { authorization: `token ${t}` } });
      const unknown = await get('gho_unknown');
      assert.equal(unknown.status, 401);
      const body = await jsonOf(unknown);
      assert.equal(str(body, 'message'), 'Bad credentials');
      assert.equal(str(body, 'documentation_url'), 'https://docs.github.com/rest');

      const gh = fake.createGithubToken();
      assert.equal((await get(gh)).status, 200);
      fake.revokeGithubToken(gh);
      assert.equal((await get(gh)).status, 401);

      const oc = fake.createGithubToken({ app: 'opencode' });
      const nf = await get(oc);
      assert.equal(nf.status, 404);
      assert.equal(str(await jsonOf(nf), 'message'), 'Not Found');

      const noAccess = fake.createGithubToken({ copilotAccess: false });
      const forbidden = await get(noAccess);
      assert.equal(forbidden.status, 403);
      assert.equal(str(rec(await jsonOf(forbidden), 'error_details'), 'notification_id'), 'no_copilot_access');
      assert.equal(fake.counts.exchange, 5);
    });
  });

  test('expiry follows the fake clock: 401 "unauthorized: token expired", a new exchange works', async () => {
    await withFake(async (fake) => {
      const { copilot, github } = await signIn(fake);
      const models = (t: string): Promise<Response> => fetch(`${fake.url}/models`, { headers: copilotHeaders(t) });
      assert.equal((await models(copilot)).status, 200);
      fake.advanceClock(1800 * 1000);
      const expired = await models(copilot);
      assert.equal(expired.status, 401);
      assert.equal(await expired.text(), 'unauthorized: token expired\n');
      assert.match(expired.headers.get('content-type') ?? '', /^text\/plain/);
      const ex = await jsonOf(await fetch(`${fake.url}/copilot_internal/v2/token`, { headers: { authorization: `token ${github}` } }));
      assert.equal((await models(str(ex, 'token') ?? '')).status, 200);
      assert.equal(fake.counts.exchange, 2);
    });
  });

  test('clock.now can be replaced', async () => {
    await withFake(async (fake) => {
      fake.clock.now = () => 1_000_000_000_000;
      const t = fake.mintCopilotToken();
      assert.equal(t.expiresAt, 1_000_000_000 + 1800);
      assert.equal(fake.counts.exchange, 0, 'minting is not an exchange');
    });
  });
});

describe('GitHub user endpoints', () => {
  test('/copilot_internal/user has the quota snapshot shape', async () => {
    await withFake(async (fake) => {
      const gh = fake.createGithubToken({ login: 'mona' });
      const res = await fetch(`${fake.url}/copilot_internal/user`, { headers: { authorization: `token ${gh}` } });
      assert.equal(res.status, 200);
      const u = await jsonOf(res);
      assert.equal(str(u, 'login'), 'mona');
      assert.equal(str(u, 'copilot_plan'), 'individual');
      assert.equal(str(u, 'quota_reset_date'), '2026-12-01');
      assert.ok(str(u, 'access_type_sku'));
      const snaps = rec(u, 'quota_snapshots');
      const premium = rec(snaps, 'premium_interactions');
      assert.equal(num(premium, 'entitlement'), 300);
      assert.equal(num(premium, 'remaining'), 240);
      assert.equal(num(premium, 'percent_remaining'), 80);
      assert.equal(isRecord(premium) ? premium['unlimited'] : undefined, false);
      assert.equal(num(premium, 'overage_count'), 0);
      assert.equal(isRecord(premium) ? premium['overage_permitted'] : undefined, false);
      assert.equal(str(premium, 'quota_id'), 'premium_interactions');
      assert.ok(str(premium, 'timestamp_utc'));
      assert.equal(isRecord(rec(snaps, 'chat')) ? rec(snaps, 'chat')?.['unlimited'] : undefined, true);
      assert.ok(rec(snaps, 'completions'));
      const user = await jsonOf(await fetch(`${fake.url}/user`, { headers: { authorization: `token ${gh}` } }));
      assert.equal(str(user, 'login'), 'mona');
    });
  });
});

describe('Copilot API', () => {
  test('/models: list shape and realistic model entries', async () => {
    await withFake(async (fake) => {
      const t = fake.mintCopilotToken().token;
      const res = await fetch(`${fake.url}/models`, { headers: copilotHeaders(t) });
      assert.equal(res.status, 200);
      const body = await jsonOf(res);
      assert.equal(str(body, 'object'), 'list');
      const data = arr(body, 'data') ?? [];
      assert.ok(data.length >= 6);
      for (const m of data) {
        assert.ok(str(m, 'id') && str(m, 'name') && str(m, 'vendor') && str(m, 'version'), `identity of ${str(m, 'id')}`);
        assert.equal(str(m, 'object'), 'model');
        const caps = rec(m, 'capabilities');
        assert.ok(str(caps, 'family') && str(caps, 'tokenizer'));
        assert.ok(['chat', 'embeddings'].includes(str(caps, 'type') ?? ''));
        assert.ok(rec(caps, 'limits') && rec(caps, 'supports'));
        assert.equal(typeof (isRecord(m) ? m['model_picker_enabled'] : undefined), 'boolean');
        assert.equal(typeof (isRecord(m) ? m['is_chat_default'] : undefined), 'boolean');
      }
      const byId = (id: string): unknown => data.find((m) => str(m, 'id') === id);
      assert.ok(arr(byId('claude-sonnet-4'), 'supported_endpoints')?.includes('/v1/messages'));
      assert.deepEqual(arr(byId('gpt-5.1-codex'), 'supported_endpoints'), ['/responses', 'ws:/responses']);
      assert.equal(str(rec(byId('text-embedding-3-small'), 'capabilities'), 'type'), 'embeddings');
      assert.equal(num(rec(rec(byId('gpt-4.1'), 'capabilities'), 'limits'), 'max_context_window_tokens'), 128000);
      assert.equal(str(rec(byId('gpt-4.1'), 'policy'), 'state'), 'enabled');
      assert.equal(isRecord(rec(byId('claude-sonnet-4'), 'billing')) ? rec(byId('claude-sonnet-4'), 'billing')?.['is_premium'] : undefined, true);
      assert.equal(fake.counts.models, 1);
    });
  });

  test('auth and header checks', async () => {
    await withFake(async (fake) => {
      const t = fake.mintCopilotToken().token;
      const noEditor = await fetch(`${fake.url}/models`, { headers: { authorization: `Bearer ${t}`, 'copilot-integration-id': 'vscode-chat' } });
      assert.equal(noEditor.status, 400);
      assert.equal(await noEditor.text(), 'bad request: missing Editor-Version header for IDE auth\n');
      const noIntegration = await fetch(`${fake.url}/models`, { headers: { authorization: `Bearer ${t}`, 'editor-version': 'vscode/1.104.0' } });
      assert.equal(noIntegration.status, 400);
      assert.match(await noIntegration.text(), /Copilot-Integration-Id/);
      fake.missingHeaderStatus = 403;
      assert.equal((await fetch(`${fake.url}/models`, { headers: { authorization: `Bearer ${t}` } })).status, 403);

      const unknown = await fetch(`${fake.url}/models`, { headers: copilotHeaders('nope') });
      assert.equal(unknown.status, 401);
      assert.match(await unknown.text(), /^unauthorized: /);
      assert.equal((await fetch(`${fake.url}/models`, { headers: EDITOR_HEADERS })).status, 401);

      const oc = fake.createGithubToken({ app: 'opencode' });
      assert.equal((await fetch(`${fake.url}/models`, { headers: { authorization: `Bearer ${oc}` } })).status, 200, 'opencode GitHub tokens go straight to the API');
      const vs = fake.createGithubToken({ app: 'vscode' });
      assert.equal((await fetch(`${fake.url}/models`, { headers: copilotHeaders(vs) })).status, 401, 'vscode GitHub tokens must be exchanged first');
      assert.equal((await fetch(`${fake.url}/nope`, { headers: copilotHeaders(t) })).status, 404);
    });
  });

  test('chat non-stream: echo, Copilot fields, deterministic usage, recorded request', async () => {
    await withFake(async (fake) => {
      const t = fake.mintCopilotToken().token;
      const req = { model: 'gpt-4.1', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello there' }] };
      const res = await post(`${fake.url}/chat/completions`, req, copilotHeaders(t, { 'X-Initiator': 'user' }));
      assert.equal(res.status, 200);
      assert.ok(res.headers.get('x-github-request-id'));
      assert.match(res.headers.get('x-quota-snapshot-premium_interactions') ?? '', /^ent=300&ov=0\.0&ovPerm=false&rem=80\.0&rst=/);
      const body = await jsonOf(res);
      const choice = (arr(body, 'choices') ?? [])[0];
      assert.equal(str(rec(choice, 'message'), 'content'), 'Echo: hello there');
      assert.equal(str(rec(choice, 'message'), 'role'), 'assistant');
      assert.equal(str(choice, 'finish_reason'), 'stop');
      assert.equal(str(body, 'model'), 'gpt-4.1-2025-04-14', 'Copilot answers with the model version');
      assert.match(str(body, 'id') ?? '', /^chatcmpl-/);
      assert.equal(typeof num(body, 'created'), 'number');
      assert.match(str(body, 'system_fingerprint') ?? '', /^fp_/);
      assert.ok((arr(body, 'prompt_filter_results') ?? []).length > 0);
      const usage = rec(body, 'usage');
      assert.equal(num(rec(usage, 'prompt_tokens_details'), 'cached_tokens'), 0);
      assert.equal((num(usage, 'prompt_tokens') ?? 0) + (num(usage, 'completion_tokens') ?? 0), num(usage, 'total_tokens'));
      const recorded = fake.last('/chat/completions');
      assert.equal(recorded?.method, 'POST');
      assert.equal(recorded?.headers['x-initiator'], 'user');
      assert.equal(recorded?.headers['editor-version'], 'vscode/1.104.0');
      assert.deepEqual(recorded?.body, req);
      assert.ok(recorded !== undefined && recorded.at > 0 && recorded.clockAt > 0);
      const again = await jsonOf(await post(`${fake.url}/chat/completions`, req, copilotHeaders(t)));
      assert.deepEqual(rec(again, 'usage'), usage, 'usage is deterministic');
      assert.equal(fake.last('/chat/completions')?.headers['x-initiator'], undefined);
      assert.equal(fake.counts.chat, 2);
      fake.clear();
      assert.equal(fake.requests.length, 0);
      assert.equal(fake.counts.chat, 0);
    });
  });

  test('chat: tools, tool results, images, model errors, premium billing', async () => {
    await withFake(async (fake) => {
      const t = fake.mintCopilotToken().token;
      const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
      const call = await jsonOf(await post(`${fake.url}/chat/completions`, { model: 'gpt-4.1', tools, messages: [{ role: 'user', content: 'What is the weather?' }] }, copilotHeaders(t)));
      const choice = (arr(call, 'choices') ?? [])[0];
      assert.equal(str(choice, 'finish_reason'), 'tool_calls');
      const tc = (arr(rec(choice, 'message'), 'tool_calls') ?? [])[0];
      assert.equal(str(rec(tc, 'function'), 'name'), 'get_weather');
      assert.equal(str(rec(tc, 'function'), 'arguments'), '{"city":"Paris"}');
      assert.equal(str(tc, 'type'), 'function');
      const callId = str(tc, 'id') ?? '';

      const after = await jsonOf(
        await post(
          `${fake.url}/chat/completions`,
          {
            model: 'gpt-4.1',
            tools,
            messages: [
              { role: 'user', content: 'What is the weather?' },
              { role: 'assistant', content: null, tool_calls: [tc] },
              { role: 'tool', tool_call_id: callId, content: 'sunny, 21C' },
            ],
          },
          copilotHeaders(t, { 'X-Initiator': 'agent' }),
        ),
      );
      assert.equal(str(rec((arr(after, 'choices') ?? [])[0], 'message'), 'content'), 'The weather is sunny, 21C');

      const image = {
        model: 'gpt-4.1',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }],
      };
      const noVisionHeader = await post(`${fake.url}/chat/completions`, image, copilotHeaders(t));
      assert.equal(noVisionHeader.status, 400);
      const seen = await jsonOf(await post(`${fake.url}/chat/completions`, image, copilotHeaders(t, { 'Copilot-Vision-Request': 'true' })));
      assert.equal(str(rec((arr(seen, 'choices') ?? [])[0], 'message'), 'content'), 'I see an image');
      assert.equal(fake.counts.vision, 1);
      assert.equal(fake.visionRequests.length, 1);

      const unknown = await post(`${fake.url}/chat/completions`, { model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] }, copilotHeaders(t));
      assert.equal(unknown.status, 400);
      assert.deepEqual(await jsonOf(unknown), {
        error: { message: 'The requested model is not supported.', code: 'model_not_supported', param: 'model', type: 'invalid_request_error' },
      });
      const wrongApi = await post(`${fake.url}/chat/completions`, { model: 'gpt-5.1-codex', messages: [{ role: 'user', content: 'x' }] }, copilotHeaders(t));
      assert.equal(wrongApi.status, 400);
      // As recorded: JSON sent as text/plain, the model quoted, no param or type.
      assert.match(wrongApi.headers.get('content-type') ?? '', /^text\/plain/);
      assert.deepEqual(await jsonOf(wrongApi), { error: { message: 'model "gpt-5.1-codex" is not accessible via the /chat/completions endpoint', code: 'unsupported_api_for_model' } });

      const before = fake.quota.remaining;
      await post(`${fake.url}/chat/completions`, { model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'x' }] }, copilotHeaders(t, { 'X-Initiator': 'user' }));
      await post(`${fake.url}/chat/completions`, { model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'x' }] }, copilotHeaders(t, { 'X-Initiator': 'agent' }));
      assert.equal(fake.quota.remaining, before - 1);
      assert.equal(fake.counts.premium, 1);
    });
  });

  test('chat stream: empty-choices first chunk, word deltas, finish chunk, trailing usage chunk, [DONE]', async () => {
    await withFake(
      async (fake) => {
        const t = fake.mintCopilotToken().token;
        const started = Date.now();
        const res = await post(
          `${fake.url}/chat/completions`,
          { model: 'gpt-4.1', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'one two three four' }] },
          copilotHeaders(t),
        );
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
        const events = await readSse(res, started);
        assert.equal(events.at(-1)?.data, '[DONE]');
        const chunks = events.slice(0, -1).map(parseData);

        const first = chunks[0];
        assert.deepEqual(arr(first, 'choices'), []);
        assert.equal(num(first, 'created'), 0);
        assert.equal(str(first, 'id'), '');
        assert.equal(isRecord(first) && 'model' in first, false, 'first chunk has no model');
        assert.ok((arr(first, 'prompt_filter_results') ?? []).length > 0);

        const deltas = chunks.slice(1).flatMap((c) => arr(c, 'choices') ?? []);
        const text = deltas.map((ch) => str(rec(ch, 'delta'), 'content') ?? '').join('');
        assert.equal(text, 'Echo: one two three four');
        const contentChunks = deltas.filter((ch) => (str(rec(ch, 'delta'), 'content') ?? '') !== '');
        assert.equal(contentChunks.length, 5, 'one delta per word');
        assert.ok(contentChunks.every((ch) => rec(ch, 'content_filter_results') !== undefined));
        assert.equal(deltas.filter((ch) => str(ch, 'finish_reason') === 'stop').length, 1);

        const last = chunks.at(-1);
        assert.deepEqual(arr(last, 'choices'), [], 'usage comes in a trailing chunk with empty choices');
        const usage = rec(last, 'usage');
        assert.ok((num(usage, 'total_tokens') ?? 0) > 0);
        assert.equal(num(rec(usage, 'prompt_tokens_details'), 'cached_tokens'), 0);
        const finish = chunks.at(-2);
        assert.equal(rec(finish, 'usage'), undefined);

        // events were flushed one by one, chunkDelayMs apart
        const spread = (events.at(-1)?.at ?? 0) - (events[0]?.at ?? 0);
        assert.ok(spread >= 30 * (events.length - 1) * 0.8, `events spread over ${spread} ms`);
        assert.ok(new Set(events.map((e) => e.at)).size > events.length / 2, 'events arrived at different times');
      },
      { chunkDelayMs: 30 },
    );
  });

  test('chat stream: no usage without include_usage; usageInFinishChunk puts it in the finish chunk', async () => {
    await withFake(async (fake) => {
      const t = fake.mintCopilotToken().token;
      const run = async (body: Record<string, unknown>): Promise<unknown[]> => {
        const res = await post(`${fake.url}/chat/completions`, body, copilotHeaders(t));
        return (await readSse(res, Date.now())).filter((e) => e.data !== '[DONE]').map(parseData);
      };
      const base = { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'hi' }] };
      const plain = await run(base);
      assert.ok(plain.every((c) => rec(c, 'usage') === undefined));
      fake.usageInFinishChunk = true;
      const inFinish = await run({ ...base, stream_options: { include_usage: true } });
      const finish = inFinish.at(-1);
      assert.equal(str((arr(finish, 'choices') ?? [])[0], 'finish_reason'), 'stop');
      assert.ok(rec(finish, 'usage'));
    });
  });

  test('chat stream: tool call deltas', async () => {
    await withFake(async (fake) => {
      const t = fake.mintCopilotToken().token;
      const res = await post(
        `${fake.url}/chat/completions`,
        { model: 'gpt-4.1', stream: true, tools: [{ type: 'function', function: { name: 'get_weather' } }], messages: [{ role: 'user', content: 'weather please' }] },
        copilotHeaders(t),
      );
      const chunks = (await readSse(res, Date.now())).filter((e) => e.data !== '[DONE]').map(parseData);
      const toolDeltas = chunks.flatMap((c) => arr(c, 'choices') ?? []).flatMap((ch) => arr(rec(ch, 'delta'), 'tool_calls') ?? []);
      const firstTc = toolDeltas[0];
      assert.match(str(firstTc, 'id') ?? '', /^call_/);
      assert.equal(str(firstTc, 'type'), 'function');
      assert.equal(str(rec(firstTc, 'function'), 'name'), 'get_weather');
      assert.equal(str(rec(firstTc, 'function'), 'arguments'), '');
      assert.ok(toolDeltas.length >= 3);
      assert.ok(toolDeltas.slice(1).every((d) => str(d, 'id') === undefined));
      assert.equal(toolDeltas.map((d) => str(rec(d, 'function'), 'arguments') ?? '').join(''), '{"city":"Paris"}');
      const finishReasons = chunks.flatMap((c) => arr(c, 'choices') ?? []).map((ch) => str(ch, 'finish_reason')).filter((x) => x !== undefined);
      assert.deepEqual(finishReasons, ['tool_calls']);
    });
  });

  test('embeddings: deterministic 8-dim vectors', async () => {
    await withFake(async (fake) => {
      const t = fake.mintCopilotToken().token;
      const res = await post(`${fake.url}/embeddings`, { model: 'text-embedding-3-small', input: ['a', 'b', 'a'] }, copilotHeaders(t));
      assert.equal(res.status, 200);
      const body = await jsonOf(res);
      assert.equal(str(body, 'object'), 'list');
      const data = arr(body, 'data') ?? [];
      assert.equal(data.length, 3);
      const vec = (i: number): unknown[] => arr(data[i], 'embedding') ?? [];
      assert.equal(vec(0).length, 8);
      assert.deepEqual(vec(0), vec(2));
      assert.notDeepEqual(vec(0), vec(1));
      assert.equal(str(data[1], 'object'), 'embedding');
      assert.equal(num(data[1], 'index'), 1);
      assert.ok((num(rec(body, 'usage'), 'prompt_tokens') ?? 0) > 0);
      const chatModel = await post(`${fake.url}/embeddings`, { model: 'gpt-4.1', input: 'a' }, copilotHeaders(t));
      assert.equal(chatModel.status, 400);
    });
  });

  test('responses: non-stream object and stream events with the item-id quirk', async () => {
    await withFake(async (fake) => {
      const t = fake.mintCopilotToken().token;
      const res = await post(`${fake.url}/responses`, { model: 'gpt-5.1-codex', input: 'hi there' }, copilotHeaders(t));
      assert.equal(res.status, 200);
      const body = await jsonOf(res);
      assert.equal(str(body, 'object'), 'response');
      assert.equal(str(body, 'status'), 'completed');
      const item = (arr(body, 'output') ?? [])[0];
      assert.equal(str(item, 'type'), 'message');
      assert.equal(str((arr(item, 'content') ?? [])[0], 'text'), 'Echo: hi there');
      assert.ok(num(rec(body, 'usage'), 'total_tokens'));

      const sres = await post(`${fake.url}/responses`, { model: 'gpt-5-mini', input: [{ role: 'user', content: [{ type: 'input_text', text: 'a b' }] }], stream: true }, copilotHeaders(t));
      const events = await readSse(sres, Date.now());
      const names = events.map((e) => e.event);
      assert.deepEqual(
        names.filter((n, i) => names.indexOf(n) === i),
        [
          'response.created',
          'response.in_progress',
          'response.output_item.added',
          'response.content_part.added',
          'response.output_text.delta',
          'response.output_text.done',
          'response.content_part.done',
          'response.output_item.done',
          'response.completed',
        ],
      );
      const data = events.map(parseData);
      assert.ok(data.every((d, i) => str(d, 'type') === events[i]?.event));
      const added = data.find((d) => str(d, 'type') === 'response.output_item.added');
      const done = data.find((d) => str(d, 'type') === 'response.output_item.done');
      assert.notEqual(str(rec(added, 'item'), 'id'), str(rec(done, 'item'), 'id'), 'Copilot quirk: ids differ');
      const text = data.filter((d) => str(d, 'type') === 'response.output_text.delta').map((d) => str(d, 'delta') ?? '').join('');
      assert.equal(text, 'Echo: a b');

      const chatOnly = await post(`${fake.url}/responses`, { model: 'gpt-4o', input: 'x' }, copilotHeaders(t));
      assert.equal(chatOnly.status, 400);
      assert.equal(str(rec(await jsonOf(chatOnly), 'error'), 'code'), 'unsupported_api_for_model');
    });
  });

  test('/v1/messages: non-stream and stream via raw HTTP', async () => {
    await withFake(async (fake) => {
      const t = fake.mintCopilotToken().token;
      const req = { model: 'claude-sonnet-4', max_tokens: 100, messages: [{ role: 'user', content: 'yo' }] };
      const body = await jsonOf(await post(`${fake.url}/v1/messages`, req, copilotHeaders(t)));
      assert.equal(str(body, 'type'), 'message');
      assert.equal(str((arr(body, 'content') ?? [])[0], 'text'), 'Echo: yo');
      assert.equal(str(body, 'stop_reason'), 'end_turn');
      const sres = await post(`${fake.url}/v1/messages`, { ...req, stream: true }, copilotHeaders(t));
      const names = (await readSse(sres, Date.now())).map((e) => e.event);
      assert.equal(names[0], 'message_start');
      assert.equal(names.at(-1), 'message_stop');
      for (const n of ['content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta']) assert.ok(names.includes(n), n);
      const gpt = await post(`${fake.url}/v1/messages`, { ...req, model: 'gpt-4.1' }, copilotHeaders(t));
      assert.equal(gpt.status, 400);
    });
  });
});

describe('faults', () => {
  test('failNext with presets, path filter and count', async () => {
    await withFake(async (fake) => {
      const t = fake.mintCopilotToken().token;
      fake.failNext(2, { ...errors.rateLimited(7), path: '/chat/completions' });
      const chat = (): Promise<Response> => post(`${fake.url}/chat/completions`, { model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }, copilotHeaders(t));
      assert.equal((await fetch(`${fake.url}/models`, { headers: copilotHeaders(t) })).status, 200, 'other paths unaffected');
      for (let i = 0; i < 2; i++) {
        const r = await chat();
        assert.equal(r.status, 429);
        assert.equal(r.headers.get('retry-after'), '7');
        assert.ok(r.headers.get('x-ratelimit-exceeded'));
        assert.equal(str(rec(await jsonOf(r), 'error'), 'code'), 'rate_limited');
      }
      assert.equal((await chat()).status, 200);
      assert.equal(fake.counts.failed, 2);

      fake.failNext(1, errors.tokenExpired());
      const expired = await chat();
      assert.equal(expired.status, 401);
      assert.equal(await expired.text(), 'unauthorized: token expired\n');
      fake.failNext(1, errors.quotaExceeded(30));
      const quota = await chat();
      assert.equal(quota.status, 402);
      assert.equal(quota.headers.get('retry-after'), '30');
      assert.deepEqual(await jsonOf(quota), { error: { message: 'You have no quota', code: 'quota_exceeded' } });
      fake.failNext(1, errors.serverError(502));
      const bad = await chat();
      assert.equal(bad.status, 502);
      assert.match(await bad.text(), /502 Bad Gateway/);
      fake.failNext(1, { status: 418, body: { custom: true }, headers: { 'X-Custom': 'yes' } });
      const custom = await chat();
      assert.equal(custom.status, 418);
      assert.equal(custom.headers.get('x-custom'), 'yes');
      assert.deepEqual(await jsonOf(custom), { custom: true });
      for (const spec of [errors.forbidden(), errors.badRequest(), errors.serverError(503), errors.serverError(504), errors.clientVersionUnsupported()]) {
        fake.failNext(1, spec);
        assert.equal((await chat()).status, spec.status);
      }
    });
  });

  test('reset-before-headers and reset-mid-stream', async () => {
    await withFake(async (fake) => {
      const t = fake.mintCopilotToken().token;
      const streamReq = { model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'a b c d e f' }] };
      fake.faultNext(1, 'reset-before-headers');
      await assert.rejects(post(`${fake.url}/chat/completions`, streamReq, copilotHeaders(t)));

      fake.faultNext(1, 'reset-mid-stream', { path: '/chat/completions' });
      const res = await post(`${fake.url}/chat/completions`, streamReq, copilotHeaders(t));
      assert.equal(res.status, 200);
      await assert.rejects(res.text());
      assert.equal(fake.counts.faulted, 2);
      assert.equal(fake.abortedRequests, 0, 'resets by the fake are not client aborts');
    });
  });

  test('silence-after-headers: headers arrive, then nothing; a client abort is counted', async () => {
    await withFake(async (fake) => {
      const t = fake.mintCopilotToken().token;
      fake.faultNext(1, 'silence-after-headers');
      const ac = new AbortController();
      const res = await fetch(`${fake.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...copilotHeaders(t) },
        body: JSON.stringify({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'x' }] }),
        signal: ac.signal,
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /event-stream/);
      const reader = res.body?.getReader();
      const pending = reader?.read();
      const raced = await Promise.race([pending, new Promise((r) => setTimeout(() => r('timeout'), 100))]);
      assert.equal(raced, 'timeout');
      ac.abort();
      await pending?.catch(() => undefined);
      await waitFor(() => fake.abortedRequests === 1);
    });
  });

  test('silence-mid-stream sends the first events then stalls', async () => {
    await withFake(async (fake) => {
      const t = fake.mintCopilotToken().token;
      fake.faultNext(1, 'silence-mid-stream', { afterChunks: 2 });
      const ac = new AbortController();
      const res = await fetch(`${fake.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...copilotHeaders(t) },
        body: JSON.stringify({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'a b c d' }] }),
        signal: ac.signal,
      });
      const reader = res.body?.getReader();
      assert.ok(reader);
      const decoder = new TextDecoder();
      const eventsIn = (s: string): number => s.split('\n\n').filter((x) => x.startsWith('data: ')).length;
      let got = '';
      while (eventsIn(got) < 2) {
        const r = await reader.read();
        assert.equal(r.done, false, 'stream ended early');
        got += decoder.decode(r.value, { stream: true });
      }
      const next = reader.read();
      const raced = await Promise.race([next, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 150))]);
      assert.equal(raced, 'timeout', 'nothing after the first two events');
      assert.equal(eventsIn(got), 2);
      ac.abort();
      await next.catch(() => undefined);
      await waitFor(() => fake.abortedRequests === 1);
    });
  });

  test('malformed-sse and trickle', async () => {
    await withFake(async (fake) => {
      const t = fake.mintCopilotToken().token;
      const body = { model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'a b' }] };
      fake.faultNext(1, 'malformed-sse');
      const raw = await (await post(`${fake.url}/chat/completions`, body, copilotHeaders(t))).text();
      assert.ok(raw.includes('data: {not json\n\n'));
      assert.ok(raw.endsWith('data: [DONE]\n\n'));

      fake.faultNext(1, 'trickle', { delayMs: 40 });
      const started = Date.now();
      const events = await readSse(await post(`${fake.url}/chat/completions`, body, copilotHeaders(t)), started);
      const spread = (events.at(-1)?.at ?? 0) - (events[0]?.at ?? 0);
      assert.ok(spread >= 40 * (events.length - 1) * 0.8, `trickled over ${spread} ms`);
    });
  });

  test('hang: no answer; the client times out; openConnections and abortedRequests see it; close() still resolves', async () => {
    const fake = await startFakeUpstream();
    try {
      const t = fake.mintCopilotToken().token;
      fake.faultNext(1, 'hang');
      const p = fetch(`${fake.url}/models`, { headers: copilotHeaders(t), signal: AbortSignal.timeout(150) });
      await waitFor(() => fake.counts.models === 1);
      assert.ok(fake.openConnections() >= 1);
      await assert.rejects(p);
      await waitFor(() => fake.abortedRequests === 1);

      fake.faultNext(1, 'hang');
      void fetch(`${fake.url}/models`, { headers: copilotHeaders(t) }).catch(() => undefined);
      await waitFor(() => fake.counts.models === 2);
    } finally {
      const started = Date.now();
      await fake.close();
      assert.ok(Date.now() - started < 1000, 'close() does not wait for hung requests');
    }
    assert.equal(fake.openConnections(), 0);
  });
});

describe('official SDKs parse the fake', () => {
  test('openai: models, chat (non-stream, stream with usage, tools), embeddings, responses', async () => {
    await withFake(async (fake) => {
      const { copilot } = await signIn(fake);
      const client = new OpenAI({ baseURL: fake.url, apiKey: copilot, defaultHeaders: { 'Editor-Version': 'vscode/1.104.0', 'Copilot-Integration-Id': 'vscode-chat' }, maxRetries: 0 });

      const models = await client.models.list();
      assert.ok(models.data.some((m) => m.id === 'gpt-4.1'));

      const done = await client.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'sdk' }] });
      assert.equal(done.choices[0]?.message.content, 'Echo: sdk');
      assert.ok((done.usage?.total_tokens ?? 0) > 0);

      const stream = await client.chat.completions.create({ model: 'gpt-4.1', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'streamed words here' }] });
      let text = '';
      let usageTotal = 0;
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        for (const ch of chunk.choices) {
          text += ch.delta?.content ?? '';
          if (ch.finish_reason) finish = ch.finish_reason;
        }
        if (chunk.usage) usageTotal = chunk.usage.total_tokens;
      }
      assert.equal(text, 'Echo: streamed words here');
      assert.equal(finish, 'stop');
      assert.ok(usageTotal > 0);

      const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
        { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
      ];
      const toolReply = await client.chat.completions.create({ model: 'gpt-4.1', tools, messages: [{ role: 'user', content: 'weather in Paris?' }] });
      const tc = toolReply.choices[0]?.message.tool_calls?.[0];
      assert.ok(tc && tc.type === 'function');
      assert.equal(tc.function.name, 'get_weather');
      assert.deepEqual(JSON.parse(tc.function.arguments), { city: 'Paris' });

      // The SDK's stream helper accumulates tool-call deltas into a final message.
      const runner = client.chat.completions.stream({ model: 'gpt-4.1', tools, messages: [{ role: 'user', content: 'weather?' }] });
      const final = await runner.finalChatCompletion();
      const streamedCall = final.choices[0]?.message.tool_calls?.[0];
      assert.ok(streamedCall && streamedCall.type === 'function');
      assert.equal(streamedCall.function.arguments, '{"city":"Paris"}');
      assert.equal(final.choices[0]?.finish_reason, 'tool_calls');

      const afterTool = await client.chat.completions.create({
        model: 'gpt-4.1',
        tools,
        messages: [
          { role: 'user', content: 'weather in Paris?' },
          { role: 'assistant', content: null, tool_calls: [tc] },
          { role: 'tool', tool_call_id: tc.id, content: 'rainy' },
        ],
      });
      assert.equal(afterTool.choices[0]?.message.content, 'The weather is rainy');

      // The SDK asks for base64 by default and decodes it; ask for floats too.
      const emb = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
      assert.equal(emb.data[0]?.embedding.length, 8);
      const floats = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello', encoding_format: 'float' });
      const a = emb.data[0]?.embedding ?? [];
      const b = floats.data[0]?.embedding ?? [];
      assert.ok(a.every((x, i) => Math.abs(x - (b[i] ?? NaN)) < 1e-6));

      const resp = await client.responses.create({ model: 'gpt-5-mini', input: 'resp' });
      assert.equal(resp.output_text, 'Echo: resp');
      const rstream = await client.responses.create({ model: 'gpt-5-mini', input: 'resp stream', stream: true });
      let rtext = '';
      let completed = false;
      for await (const ev of rstream) {
        if (ev.type === 'response.output_text.delta') rtext += ev.delta;
        if (ev.type === 'response.completed') completed = true;
      }
      assert.equal(rtext, 'Echo: resp stream');
      assert.ok(completed);
      assert.equal(fake.counts.exchange, 1);
    });
  });

  test('anthropic: messages non-stream, stream and tool use', async () => {
    await withFake(async (fake) => {
      const t = fake.mintCopilotToken().token;
      const client = new Anthropic({ baseURL: fake.url, apiKey: null, authToken: t, defaultHeaders: EDITOR_HEADERS, maxRetries: 0 });
      const msg = await client.messages.create({ model: 'claude-sonnet-4', max_tokens: 64, messages: [{ role: 'user', content: 'hi claude' }] });
      const block = msg.content[0];
      assert.ok(block && block.type === 'text');
      assert.equal(block.text, 'Echo: hi claude');
      const stream = client.messages.stream({ model: 'claude-sonnet-4', max_tokens: 64, messages: [{ role: 'user', content: 'streaming claude' }] });
      const final = await stream.finalMessage();
      const fb = final.content[0];
      assert.ok(fb && fb.type === 'text');
      assert.equal(fb.text, 'Echo: streaming claude');
      assert.ok(final.usage.output_tokens > 0);
      const tool = await client.messages
        .stream({
          model: 'claude-sonnet-4',
          max_tokens: 64,
          tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
          messages: [{ role: 'user', content: 'weather?' }],
        })
        .finalMessage();
      const tb = tool.content[0];
      assert.ok(tb && tb.type === 'tool_use');
      assert.deepEqual(tb.input, { city: 'Paris' });
      assert.equal(tool.stop_reason, 'tool_use');
    });
  });
});

describe('serve.ts (separate process)', () => {
  test('prints its URL, serves, obeys /__fake control routes, stops on SIGTERM', async () => {
    const servePath = fileURLToPath(new URL('./serve.ts', import.meta.url));
    const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', servePath, '--port', '0', '--github-token', 'gho_seeded'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve.ts printed no URL: ${out}`)), 15_000);
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /FAKE_UPSTREAM_URL=(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m?.[1] !== undefined) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      const ex = await fetch(`${url}/copilot_internal/v2/token`, { headers: { authorization: 'token gho_seeded' } });
      assert.equal(ex.status, 200);
      const failed = await post(`${url}/__fake/fail`, { n: 1, ...errors.serverError(503), path: '/copilot_internal' });
      assert.equal(failed.status, 200);
      assert.equal((await fetch(`${url}/copilot_internal/v2/token`, { headers: { authorization: 'token gho_seeded' } })).status, 503);
      const state = await jsonOf(await fetch(`${url}/__fake/state`));
      assert.equal(num(rec(state, 'counts'), 'exchange'), 2);
      assert.equal(num(rec(state, 'counts'), 'failed'), 1);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('waitFor: condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
