import http from 'node:http';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import OpenAI from 'openai';
import { loadConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/log.ts';
import { startRuntime } from '../../src/proxy/run.ts';
import { usageBodySchema } from '../../src/usage/api.ts';
import { clippedRecord, usageRecordSchema, usageTotalsSchema } from '../../src/usage/record.ts';
import { runCli } from '../helpers/cli.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';

/**
 * Local usage accounting through the real proxy: each model request leaves a
 * record (client from its User-Agent, initiator, premium cost from the model's
 * multiplier), written to <data dir>/usage/ within a second and on shutdown,
 * and `usage --by client` totals them.
 */
const totals = z.array(usageTotalsSchema);

describe('usage accounting', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.close());

  test('records match the requests sent: clients, initiators, premium per the multipliers', async () => {
    // The quota as GitHub says it, cached by the proxy.
    const before = usageBodySchema.parse(await (await fetch(`${h.url}/usage`)).json());
    assert.equal(before.remaining, 240);
    const userCalls = h.fake.counts.user;
    // The OpenAI SDK: a user turn on a premium model (multiplier 1), an agent turn on it, a user turn on a free model.
    await h.openai.chat.completions.create({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'premium user turn' }] });
    await h.openai.chat.completions.create({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }, { role: 'user', content: 'tool said x' }, { role: 'assistant', content: 'continuing' }] });
    await h.openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'free model' }] });
    // Claude Code's User-Agent, on the Anthropic route, streamed.
    const r = await fetch(`${h.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'claude-cli/2.1.332 (external, sdk-cli)', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-sonnet-4', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'from claude code' }] }),
    });
    assert.equal(r.status, 200);
    await r.text();
    // Refused before a model was chosen: no record.
    const bad = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messages":[]}' });
    assert.equal(bad.status, 400);

    // Written within a second, off the request path.
    const dir = path.join(h.home, 'usage');
    const deadline = Date.now() + 5000;
    const count = () => (fs.existsSync(dir) ? fs.readdirSync(dir).reduce((n, f) => n + fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).length, 0) : 0);
    while (count() < 4 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    assert.equal(count(), 4);
    const text = fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('');
    assert.ok(!text.includes(h.githubToken) && !text.includes('premium user turn'), 'no token, no message text');

    const out = await runCli(['usage', '--by', 'client', '--json'], h.env);
    assert.equal(out.code, 0, out.stderr);
    const json: unknown = JSON.parse(out.stdout);
    assert.ok(typeof json === 'object' && json !== null && 'local' in json && typeof json.local === 'object' && json.local !== null && 'totals' in json.local && Array.isArray(json.local.totals));
    const byClient = new Map(json.local.totals.map((t: { key: string; requests: number; premium: number }) => [t.key, [t.requests, t.premium]]));
    assert.deepEqual(byClient.get('openai-node'), [3, 1], 'user turn on the premium model: 1; agent turn and free model: 0');
    assert.deepEqual(byClient.get('claude-cli'), [1, 1]);

    // /usage: the quota moved with each answer's x-quota-snapshot header (no new call to GitHub), and `local` totals.
    const after = usageBodySchema.parse(await (await fetch(`${h.url}/usage`)).json());
    assert.equal(after.remaining, 238, 'two premium user turns');
    assert.equal(h.fake.counts.user, userCalls, 'no extra call to /copilot_internal/user');
    const todayByClient = new Map(after.local.today.byClient.map((t) => [t.key, t.premium]));
    assert.deepEqual([todayByClient.get('openai-node'), todayByClient.get('claude-cli')], [1, 1]);
    assert.deepEqual(after.local.period.byInitiator.map((t) => [t.key, t.requests]), [['user', 3], ['agent', 1]]);
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    assert.match(metrics, /^gcs_premium_requests_total\{model="claude-sonnet-4",client="claude-cli"\} 1$/m);
    assert.match(metrics, /^gcs_premium_requests_total\{model="claude-sonnet-4",client="openai-node"\} 1$/m);

    const table = await runCli(['usage', '--by', 'initiator'], h.env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /Local usage \(last 30 days\), by initiator \(4 requests, [\d.]+ AI credits, 2 premium requests\):/);
    assert.match(table.stdout, /^agent\s+1\s+(<0\.01|[\d.]*[1-9][\d.]*)\s+0\s/m, 'an agent turn: some AI credits, no premium request');
  });

  test('the records survive the proxy stopping and a new one starting on the same data dir', async () => {
    await h.runtime.shutdown(2000);
    const env = { ...h.env, GITHUB_COPILOT_SVCS_PORT: '0' };
    const again = await startRuntime({ config: loadConfig({ env }), log: silentLogger, autoSignIn: false, env });
    try {
      const client = new OpenAI({ baseURL: `${again.proxy.url}/v1`, apiKey: 'dummy', maxRetries: 0 });
      await client.chat.completions.create({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'after a restart' }] });
    } finally {
      await again.shutdown(2000);
    }
    // No proxy running now: the CLI totals the files itself (the quota comes from GitHub directly).
    const out = await runCli(['usage', '--by', 'client', '--json'], { ...h.env, GITHUB_COPILOT_SVCS_PORT: '1' });
    assert.equal(out.code, 0, out.stderr);
    const local = z.object({ local: z.object({ totals }) }).parse(JSON.parse(out.stdout)).local;
    assert.deepEqual(new Map(local.totals.map((t) => [t.key, [t.requests, t.premium]])).get('openai-node'), [4, 2]);
  });
});

describe('the live feed of requests (GET /usage/events)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.close());

  test('a snapshot of the last requests, then each new one as it ends; the listener is dropped when it leaves', async () => {
    await h.openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'before' }] });
    const ac = new AbortController();
    const res = await fetch(`${h.url}/usage/events`, { signal: ac.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    const nextEvent = async (): Promise<{ event: string; data: unknown }> => {
      for (;;) {
        const i = buf.indexOf('\n\n');
        if (i >= 0) {
          const raw = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (raw.startsWith(':')) continue;
          const event = /^event: (.*)$/m.exec(raw)?.[1] ?? '';
          const data: unknown = JSON.parse(/^data: (.*)$/m.exec(raw)?.[1] ?? 'null');
          return { event, data };
        }
        const { value, done } = await reader.read();
        if (done) throw new Error('feed ended');
        buf += value;
      }
    };
    const snap = await nextEvent();
    assert.equal(snap.event, 'snapshot');
    const requests = z.object({ requests: z.array(usageRecordSchema) }).parse(snap.data).requests;
    assert.deepEqual(requests.map((r) => [r.client, r.upstream_model]), [['openai-node', 'gpt-4.1']]);
    const listeners = () => h.proxy.ctx.usageFeed?.listeners;
    assert.equal(listeners(), 1);

    await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'OpenAI/Python 2.54.0' },
      body: JSON.stringify({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'live' }] }),
    }).then((r) => r.text());
    const live = await nextEvent();
    assert.equal(live.event, 'request');
    const rec = usageRecordSchema.parse(live.data);
    assert.deepEqual([rec.client, rec.upstream_model, rec.premium, rec.initiator], ['openai-python', 'claude-sonnet-4', 1, 'user']);

    ac.abort();
    const deadline = Date.now() + 3000;
    while (listeners() !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(listeners(), 0);
  });

  test('HEAD: the 200 and the event-stream headers at once, with no body to carry them', async () => {
    const { status, headers } = await new Promise<{ status: number | undefined; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const req = http.request(`${h.url}/usage/events`, { method: 'HEAD', agent: false, timeout: 5000 }, (res) => {
        resolve({ status: res.statusCode, headers: res.headers });
        req.destroy();
      });
      req.on('timeout', () => reject(new Error('no headers within 5 s')));
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 200);
    assert.match(headers['content-type'] ?? '', /^text\/event-stream/);
  });

  test('HEAD ends at once and takes no listener slot: the next request on its connection is answered', async () => {
    const feed = h.proxy.ctx.usageFeed;
    assert.ok(feed);
    // Pipelined on one keep-alive connection: 20 HEADs (past the feed's listener limit), then a GET.
    const sock = net.connect(Number(new URL(h.url).port), '127.0.0.1');
    const heads = 'HEAD /usage/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'.repeat(20);
    sock.write(`${heads}GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    let got = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (got += d));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no end within 5 s; got ${JSON.stringify(got.slice(-300))}`)), 5000);
      sock.on('close', () => {
        clearTimeout(t);
        resolve();
      });
      sock.on('error', reject);
    });
    assert.equal(got.match(/^HTTP\/1\.1 200 OK\r\n/gm)?.length, 21, got.slice(0, 500));
    assert.match(got, /\r\n\r\n\{"status":/);
    assert.equal(feed.listeners, 0);
    // The feed still takes a real listener afterwards.
    const ac = new AbortController();
    const res = await fetch(`${h.url}/usage/events`, { signal: ac.signal });
    assert.equal(res.status, 200);
    ac.abort();
  });

  test('a listener that does not read is dropped at the backlog (its slot freed); a reader keeps its rows, a bad one shows clipped', async () => {
    const feed = h.proxy.ctx.usageFeed;
    assert.ok(feed);
    // A client that asks and never reads.
    const stalled = net.connect(Number(new URL(h.url).port), '127.0.0.1');
    stalled.pause();
    stalled.write('GET /usage/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const listening = (): number => feed.listeners;
    const deadline = Date.now() + 3000;
    while (listening() !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(listening(), 1);
    const big = { t: Date.now(), client: 'openai-node', route: '/v1/chat/completions', model: 'm'.repeat(256), upstream_model: 'gpt-4.1', initiator: 'user' as const, premium: 0, prompt_tokens: 1, cached_tokens: null, completion_tokens: 1, nano_aiu: null, cost_source: null, status: 200, ttfb_ms: 1, duration_ms: 2, stream: false };
    // ~40 MB offered: far past the socket buffers and the 1 MiB backlog.
    for (let i = 0; i < 80_000 && listening() > 0; i++) {
      feed.push(big);
      if (i % 2000 === 0) await new Promise((r) => setImmediate(r));
    }
    const end = Date.now() + 5000;
    while (listening() !== 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(listening(), 0, 'the stalled listener was dropped');
    stalled.destroy();
    assert.ok(process.memoryUsage().rss < 1.5e9);
    // Feed rows the page cannot validate are shown clipped: clippedRecord keeps what it can read.
    const { record, clipped } = clippedRecord({ ...big, duration_ms: -1, model: 'x'.repeat(9000) });
    assert.equal(clipped, true);
    assert.equal(record.model?.length, 256);
    assert.equal(record.upstream_model, 'gpt-4.1');
  });

  test('an open feed does not hold up shutdown: the proxy ends it and stops at once, not at the deadline', async () => {
    const res = await fetch(`${h.url}/usage/events`);
    assert.equal(res.status, 200);
    const body = res.text();
    const started = Date.now();
    await h.runtime.shutdown(30_000);
    assert.ok(Date.now() - started < 10_000, `shutdown took ${Date.now() - started} ms with a feed open (deadline 30 s)`);
    assert.match(await body, /^event: snapshot/, 'the feed ended cleanly');
  });
});
