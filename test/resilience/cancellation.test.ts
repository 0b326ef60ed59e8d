import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { errors } from '../fake-upstream/index.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';
import { assertHealthy, postChat, readSse, waitFor } from './helpers.ts';

/** Reads from a streaming response until `n` bytes arrived (the stream is live), leaving it open. */
async function readSome(res: Response, n = 1): Promise<void> {
  assert.ok(res.body);
  const reader = res.body.getReader();
  let got = 0;
  while (got < n) {
    const { value, done } = await reader.read();
    if (done) assert.fail('stream ended early');
    got += value.byteLength;
  }
  reader.releaseLock();
}

describe('a client that goes away aborts its upstream request at once', () => {
  let h: Harness;
  before(async () => {
    // Long backoff: a retry wait that is not cut short by the abort would show.
    h = await startHarness({ resilience: { retryDelaysMs: [30_000] } });
  });
  after(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.fake.clearInjections();
    h.fake.clear();
  });

  test('client abort mid-stream: the upstream connection is closed and the slot freed', async () => {
    h.fake.chunkDelayMs = 200;
    try {
      const ac = new AbortController();
      const res = await postChat(h, 'a long answer with many many words in it', { stream: true, signal: ac.signal });
      assert.equal(res.status, 200);
      await readSome(res);
      assert.equal(h.proxy.ctx.gateway.state().inFlight, 1, 'the stream holds a slot');
      ac.abort();
      await waitFor('upstream saw the abort', () => h.fake.abortedRequests === 1);
      await waitFor('slot freed', () => h.proxy.ctx.gateway.state().inFlight === 0);
      assert.equal(h.proxy.ctx.stats.inFlightStreams, 0);
    } finally {
      h.fake.chunkDelayMs = 5;
    }
    await assertHealthy(h);
  });

  test('client abort while waiting for the upstream headers closes the upstream request', async () => {
    h.fake.faultNext(1, 'hang', { path: '/chat/completions' });
    const ac = new AbortController();
    const pending = postChat(h, 'x', { signal: ac.signal }).catch((e: unknown) => e);
    await waitFor('request reached the upstream', () => h.fake.counts.chat === 1);
    ac.abort();
    assert.ok((await pending) instanceof Error);
    await waitFor('upstream saw the abort', () => h.fake.abortedRequests === 1);
    await waitFor('slot freed', () => h.proxy.ctx.gateway.state().inFlight === 0);
    await assertHealthy(h);
  });

  test('client abort during a retry backoff ends the wait at once: no further attempt', async () => {
    h.fake.failNext(1, { ...errors.serverError(503), path: '/chat/completions' });
    const ac = new AbortController();
    const pending = postChat(h, 'x', { signal: ac.signal }).catch((e: unknown) => e);
    await waitFor('first attempt failed and the backoff began', () => h.proxy.ctx.gateway.state().retries >= 1 && h.fake.counts.chat === 1);
    ac.abort();
    assert.ok((await pending) instanceof Error);
    // The backoff is 30 s: the slot can only come back this soon if the wait was cut short.
    await waitFor('slot freed long before the 30 s backoff', () => h.proxy.ctx.gateway.state().inFlight === 0, 10_000);
    assert.equal(h.fake.counts.chat, 1, 'no attempt after the client left');
    assert.equal(h.proxy.ctx.gateway.state().consecutiveFailures, 0, "the client's abort is not an upstream failure");
    await assertHealthy(h);
  });
});

describe('concurrency limit and bounded queue', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { max_concurrency: 2, max_queue: 1 } });
  });
  after(async () => {
    await h.close();
  });

  test('streams hold their slot; one waits in the queue; beyond it 429 + Retry-After; /health and /v1/models still answer', async () => {
    h.fake.clear();
    // Two streams that stay open (silent after a few chunks) take both slots.
    h.fake.faultNext(2, 'silence-mid-stream', { path: '/chat/completions', afterChunks: 2 });
    const holders = [new AbortController(), new AbortController()];
    for (const ac of holders) await readSome(await postChat(h, 'hold', { stream: true, signal: ac.signal }));
    assert.equal(h.proxy.ctx.gateway.state().inFlight, 2);

    // The third waits for a slot.
    const queuedAc = new AbortController();
    const queued = postChat(h, 'queued', { signal: queuedAc.signal }).catch((e: unknown) => e);
    await waitFor('third request queued', () => h.proxy.ctx.gateway.state().queued === 1);

    // The fourth finds the queue full.
    const over = await postChat(h, 'over');
    assert.equal(over.status, 429);
    assert.equal(over.headers.get('retry-after'), '1');
    const body = (await over.json()) as { error: { type: string; code: string } };
    assert.equal(body.error.type, 'rate_limit_error');
    assert.equal(body.error.code, 'rate_limited');
    assert.equal(h.proxy.ctx.gateway.state().overloadRejections, 1);

    // Long streams never starve the look-ups: /health has no upstream call, /models skips the limit.
    assert.equal((await fetch(`${h.url}/health`)).status, 200);
    h.proxy.ctx.models.invalidate();
    const models = await fetch(`${h.url}/v1/models`);
    assert.equal(models.status, 200);
    assert.ok(((await models.json()) as { data: unknown[] }).data.length > 0);

    // The queued caller gives up: it leaves the queue and never reaches the upstream.
    queuedAc.abort();
    assert.ok((await queued) instanceof Error);
    await waitFor('queue emptied', () => h.proxy.ctx.gateway.state().queued === 0);
    assert.equal(h.fake.counts.chat, 2);

    // A stream that ends gives its slot back.
    holders[0]?.abort();
    await waitFor('one slot back', () => h.proxy.ctx.gateway.state().inFlight === 1);
    const r = await h.openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'a slot again' }] });
    assert.equal(r.choices[0]?.message.content, 'Echo: a slot again');
    holders[1]?.abort();
    await assertHealthy(h);
  });

  test('a burst within concurrency + queue is served in full as slots free up', async () => {
    h.fake.clear();
    h.fake.chunkDelayMs = 30;
    try {
      const all = await Promise.all([0, 1, 2].map(async (i) => readSse(await postChat(h, `q${i}`, { stream: true }))));
      for (const [i, s] of all.entries()) assert.equal(s.content, `Echo: q${i}`);
    } finally {
      h.fake.chunkDelayMs = 5;
    }
    await assertHealthy(h);
  });
});
