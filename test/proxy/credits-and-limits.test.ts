import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { z } from 'zod';
import { healthBodySchema } from '../../src/ipc/bodies.ts';
import { usageBodySchema } from '../../src/usage/api.ts';
import { NANO_AIU_PER_CREDIT, usageRecordSchema } from '../../src/usage/record.ts';
import { runCli } from '../helpers/cli.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';

/**
 * Copilot as it bills and limits in 2026, through the real proxy and the fake:
 * every answer's `copilot_usage.total_nano_aiu` lands in the usage records, and
 * `usage`, `/usage` and `/metrics` add up to exactly what the fake charged; a
 * weekly or session 429 is state (one upstream call, then local 429s with
 * Retry-After, in each SDK's own error shape) until it ends.
 */

async function drain(r: Response): Promise<string> {
  assert.equal(r.status, 200, `HTTP ${r.status}`);
  return r.text();
}

function post(h: Harness, p: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${h.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

const cliCredits = z.object({ credits: z.object({ month: z.object({ nanoAiu: z.number() }), allowance: z.number().nullable(), allowanceSource: z.string().nullable() }) });

describe('AI credits: exact, from Copilot\'s copilot_usage, on every route and path', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { monthly_credits: 1500 } });
  });
  after(async () => h.close());

  test('usage, /usage, /metrics and the records equal the sum of the fake\'s total_nano_aiu', async () => {
    const agentTurn = [
      { role: 'user' as const, content: 'first question with some words in it' },
      { role: 'assistant' as const, content: 'first answer' },
      { role: 'user' as const, content: 'second question' },
    ];
    // Chat: non-stream, stream with and without include_usage; chat via Responses (a responses-only model).
    await h.openai.chat.completions.create({ model: 'gpt-4.1', messages: agentTurn });
    for await (const _ of await h.openai.chat.completions.create({ model: 'claude-sonnet-4', stream: true, messages: agentTurn })) void _;
    for await (const _ of await h.openai.chat.completions.create({ model: 'gpt-4.1', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] })) void _;
    await h.openai.chat.completions.create({ model: 'gpt-5.1-codex', messages: agentTurn });
    for await (const _ of await h.openai.chat.completions.create({ model: 'gpt-5.1-codex', stream: true, messages: [{ role: 'user', content: 'x' }] })) void _;
    // Responses: result and stream.
    await h.openai.responses.create({ model: 'gpt-5.1-codex', input: 'hello' });
    for await (const _ of await h.openai.responses.create({ model: 'gpt-5.1-codex', input: 'hello', stream: true })) void _;
    // Messages: native (Claude) and translated (GPT), each whole and streamed.
    const anthropic = new Anthropic({ baseURL: h.url, apiKey: 'dummy', maxRetries: 0 });
    await anthropic.messages.create({ model: 'claude-sonnet-4', max_tokens: 64, messages: agentTurn });
    for await (const _ of anthropic.messages.stream({ model: 'claude-sonnet-4', max_tokens: 64, messages: agentTurn })) void _;
    await anthropic.messages.create({ model: 'gpt-4.1', max_tokens: 64, messages: agentTurn });
    await drain(await post(h, '/v1/messages', { model: 'gpt-4.1', max_tokens: 64, stream: true, messages: agentTurn }));
    const charged = h.fake.chargedNanoAiu;
    assert.ok(charged > 0);

    // The records: every one has Copilot's exact cost; cache reads are kept on the native Messages path too.
    const dir = path.join(h.home, 'usage');
    const read = () => (fs.existsSync(dir) ? fs.readdirSync(dir).flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean)) : []);
    const deadline = Date.now() + 5000;
    while (read().length < 11 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const records = read().map((l) => usageRecordSchema.parse(JSON.parse(l)));
    assert.equal(records.length, 11);
    for (const r of records) assert.equal(r.cost_source, 'copilot', `${r.route} ${r.model} stream=${r.stream}: cost from copilot_usage`);
    assert.equal(records.reduce((n, r) => n + (r.nano_aiu ?? 0), 0), charged, 'the records add up to what the fake charged');
    const native = records.filter((r) => r.route === '/v1/messages' && r.upstream_model === 'claude-sonnet-4');
    assert.equal(native.length, 2);
    for (const r of native) assert.ok((r.cached_tokens ?? 0) > 0 && (r.prompt_tokens ?? 0) > (r.cached_tokens ?? 0), 'native Messages: cache reads counted in the prompt and kept apart');

    // /usage: this month's credits and today's, with the allowance from monthly_credits.
    const body = usageBodySchema.parse(await (await fetch(`${h.url}/usage`)).json());
    assert.equal(body.local.credits.month.nanoAiu, charged);
    assert.equal(body.local.credits.today.nanoAiu, charged);
    assert.equal(body.local.credits.month.unknown, 0);
    assert.deepEqual([body.local.credits.allowance, body.local.credits.allowanceSource], [1500, 'config']);
    assert.equal(body.local.period.byModel.reduce((n, t) => n + t.nanoAiu, 0), charged);

    // The CLI, from the same records.
    const out = await runCli(['usage', '--json'], h.env);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(cliCredits.parse(JSON.parse(out.stdout)).credits.month.nanoAiu, charged);
    const text = await runCli(['usage', '--by', 'model'], h.env);
    assert.equal(text.code, 0, text.stderr);
    const credits = charged / NANO_AIU_PER_CREDIT;
    assert.match(text.stdout, new RegExp(`AI credits: ${(Math.round(credits * 100) / 100).toLocaleString('en-US', { maximumFractionDigits: 2 }).replace('.', '\\.')} of 1,500 used`));

    // /metrics: gcs_ai_credits_total by model and client adds up too.
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    const sum = [...metrics.matchAll(/^gcs_ai_credits_total\{[^}]*\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    assert.ok(Math.abs(sum - credits) < 1e-6, `metrics ${sum} vs ${credits}`);
    assert.match(metrics, /^gcs_ai_credits_total\{model="claude-sonnet-4",client="(openai-node|anthropic-node)"\} /m);
  });
});

describe('weekly and session limits are state, not retries', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.close());

  test('a weekly 429 reaches the OpenAI and Anthropic SDKs with Retry-After; later requests never reach Copilot; /health, status show it; it ends', async () => {
    h.fake.usageLimit = { kind: 'weekly', untilMs: h.fake.clock.now() + 4000, plan: 'individual_pro', retryAfterHeader: true };
    const openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'dummy', maxRetries: 0 });
    const before = h.fake.counts.chat + h.fake.counts.messages;
    const err = await openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] }).then(
      () => assert.fail('should be limited'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof OpenAI.APIError);
    assert.equal(err.status, 429);
    const retryAfter = Number(err.headers?.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 4, `retry-after ${retryAfter}`);
    assert.match(err.message, /weekly usage limit is reached; it ends \w{3} \d\d:\d\d \(local time\)/);
    assert.equal(h.fake.counts.chat + h.fake.counts.messages - before, 1, 'one upstream call, not retried');

    // Within the window: Anthropic's SDK gets its own error shape; nothing reaches the fake.
    const anthropic = new Anthropic({ baseURL: h.url, apiKey: 'dummy', maxRetries: 0 });
    const aerr = await anthropic.messages.create({ model: 'claude-sonnet-4', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }).then(
      () => assert.fail('should be limited'),
      (e: unknown) => e,
    );
    assert.ok(aerr instanceof Anthropic.RateLimitError);
    assert.ok(Number(aerr.headers?.get('retry-after')) >= 1);
    // An agent in a loop, on every model route: answered here at once, at no cost upstream.
    for (const [p, b] of [
      ['/v1/chat/completions', { model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'again' }] }],
      ['/v1/responses', { model: 'gpt-5.1-codex', input: 'again' }],
      ['/v1/messages', { model: 'gpt-4.1', max_tokens: 8, messages: [{ role: 'user', content: 'again' }] }],
    ] as const) {
      const r = await post(h, p, b);
      assert.equal(r.status, 429, p);
      await r.text();
    }
    assert.equal(h.fake.counts.chat + h.fake.counts.messages - before, 1, 'the second and later requests never reached the fake');

    const health = healthBodySchema.parse(await (await fetch(`${h.url}/health`)).json());
    assert.equal(health.status, 'degraded');
    assert.equal(health.upstream.limit?.kind, 'weekly');
    assert.equal(health.upstream.limit?.code, 'user_weekly_rate_limited');
    assert.ok((health.upstream.limitRejections ?? 0) >= 2);
    const st = await runCli(['status'], h.env);
    assert.match(st.stdout, /Copilot limit: .*Rate-limited \(weekly\) until \w{3} \d\d:\d\d/);

    // It ends on time: the next request goes to Copilot again.
    await new Promise((r) => setTimeout(r, Math.max(0, (health.upstream.limit?.until ?? 0) - Date.now()) + 200));
    const ok = await openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi again' }] });
    assert.match(ok.choices[0]?.message.content ?? '', /hi again/);
    assert.equal(healthBodySchema.parse(await (await fetch(`${h.url}/health`)).json()).upstream.limit, null);
  });

  test('a session limit with only "please wait N minutes" in its text; a short 429 is still retried', async () => {
    h.fake.usageLimit = { kind: 'session', untilMs: h.fake.clock.now() + 10 * 60_000, plan: 'individual_pro', retryAfterHeader: false };
    const r = await post(h, '/v1/chat/completions', { model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 429);
    const sec = Number(r.headers.get('retry-after'));
    assert.ok(sec > 9 * 60 && sec <= 10 * 60, `retry-after ${sec}`);
    const body: unknown = await r.json();
    assert.match(JSON.stringify(body), /user_global_rate_limited:individual_pro/);
    h.fake.usageLimit = null;
  });
});
