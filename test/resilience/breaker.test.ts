import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { errors } from '../fake-upstream/index.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';
import { MODEL, assertHealthy, health, postChat, readSse, waitFor } from './helpers.ts';

describe('circuit breaker', () => {
  let h: Harness;
  before(async () => {
    // 2 s rather than 1: the open-phase checks must run before the half-open timer, even on a slow CI box.
    h = await startHarness({ config: { timeouts: { circuit_breaker: 2 } } });
  });
  after(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.fake.clearInjections();
    h.fake.clear();
  });

  const failAll = () => h.fake.failNext(1000, { ...errors.serverError(500), path: '/chat/completions' });

  async function openIt(): Promise<void> {
    for (let i = 1; i <= 5; i++) {
      const res = await postChat(h, `fail ${i}`);
      assert.equal(res.status, 500, `request ${i} gets the upstream's 500`);
      await res.arrayBuffer();
      assert.equal(h.proxy.ctx.gateway.state().circuit, i < 5 ? 'closed' : 'open');
    }
  }

  test('5 consecutive failures open it; while open: 503 + Retry-After without touching Copilot; recovers after the half-open probe', async () => {
    failAll();
    await openIt();
    const upstreamCalls = h.fake.counts.chat;
    assert.equal(upstreamCalls, 15, '5 calls x 3 attempts each');

    const res = await postChat(h, 'while open');
    assert.equal(res.status, 503);
    const ra = Number(res.headers.get('retry-after'));
    assert.ok(ra >= 1 && ra <= 2, `Retry-After ${ra}`);
    const body = (await res.json()) as { error: { code: string; type: string; message: string } };
    assert.equal(body.error.code, 'circuit_open');
    assert.equal(body.error.type, 'server_error');
    // Streams are refused the same way, before any SSE header.
    await assert.rejects(
      h.openai.chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof OpenAI.APIError && e.status === 503,
    );
    assert.equal(h.fake.counts.chat, upstreamCalls, 'no upstream call while open');

    const hb = await health(h);
    assert.equal(hb.upstream.circuit, 'open');
    assert.equal(hb.status, 'degraded');
    assert.ok(hb.upstream.circuitOpens >= 1);

    // Copilot recovers; after timeouts.circuit_breaker the next request is the probe.
    h.fake.clearInjections();
    await waitFor('half-open', async () => (await health(h)).upstream.circuit === 'half_open');
    const r = await h.openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'probe' }] });
    assert.equal(r.choices[0]?.message.content, 'Echo: probe');
    assert.equal((await health(h)).upstream.circuit, 'closed');
    await assertHealthy(h);
  });

  test('a failed probe opens it again; the next successful probe closes it', async () => {
    failAll();
    await openIt();
    await waitFor('half-open', () => h.proxy.ctx.gateway.state().circuit === 'half_open');
    const opens = h.proxy.ctx.gateway.state().circuitOpens;
    const probe = await postChat(h, 'failing probe');
    assert.equal(probe.status, 500);
    await probe.arrayBuffer();
    assert.equal(h.proxy.ctx.gateway.state().circuit, 'open');
    assert.equal(h.proxy.ctx.gateway.state().circuitOpens, opens + 1);
    h.fake.clearInjections();
    await waitFor('half-open again', () => h.proxy.ctx.gateway.state().circuit === 'half_open');
    const s = await readSse(await postChat(h, 'good probe', { stream: true }));
    assert.equal(s.content, 'Echo: good probe');
    await assertHealthy(h);
  });

  test('client errors (400, 402) do not trip it, and a success resets the run of failures', async () => {
    for (let i = 0; i < 8; i++) {
      h.fake.failNext(1, { ...(i % 2 ? errors.quotaExceeded() : errors.badRequest('nope')), path: '/chat/completions' });
      const res = await postChat(h, 'x');
      assert.ok(res.status === 400 || res.status === 402);
      await res.arrayBuffer();
    }
    assert.equal(h.proxy.ctx.gateway.state().circuit, 'closed');
    h.fake.failNext(12, { ...errors.serverError(502), path: '/chat/completions' });
    for (let i = 0; i < 4; i++) await (await postChat(h, 'x')).arrayBuffer();
    assert.equal(h.proxy.ctx.gateway.state().consecutiveFailures, 4);
    h.fake.clearInjections();
    await (await postChat(h, 'ok')).arrayBuffer();
    assert.equal(h.proxy.ctx.gateway.state().consecutiveFailures, 0);
    assert.equal(h.proxy.ctx.gateway.state().circuit, 'closed');
    await assertHealthy(h);
  });
});
