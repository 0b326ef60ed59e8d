import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import http from 'node:http';
import type { Socket } from 'node:net';
import OpenAI from 'openai';
import { startHarness, type Harness } from '../helpers/harness.ts';
import { MODEL, assertHealthy, postChat, readSse, waitFor } from './helpers.ts';

describe('stream faults after the headers: the client always gets a clean end', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { timeouts: { stream_idle: 1 } } });
  });
  after(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.fake.clearInjections();
    h.fake.clear();
  });
  afterEach(async () => {
    await assertHealthy(h);
  });

  test('reset mid-stream: content so far, then an error event, then the stream closes (raw SSE)', async () => {
    h.fake.faultNext(1, 'reset-mid-stream', { path: '/chat/completions', afterChunks: 3 });
    const res = await postChat(h, 'one two three four five six', { stream: true });
    assert.equal(res.status, 200);
    const s = await readSse(res);
    assert.equal(s.errors.length, 1, s.text);
    assert.match(s.errors[0]?.message ?? '', /Copilot/);
    assert.equal(s.errors[0]?.type, 'server_error');
    assert.ok(!s.done, 'no [DONE] after an error');
    assert.ok(s.content.startsWith('Echo:'), 'the chunks before the reset were relayed');
    assert.ok(s.text.trimEnd().endsWith('}'), 'the error event is the last thing sent');
    assert.equal(h.fake.counts.chat, 1, 'never retried after bytes went to the client');
  });

  test('reset mid-stream with the OpenAI SDK: the iterator throws an APIError, no hang', async () => {
    h.fake.faultNext(1, 'reset-mid-stream', { path: '/chat/completions', afterChunks: 3 });
    const stream = await h.openai.chat.completions.create({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'a b c d e f' }] });
    let text = '';
    await assert.rejects(
      (async () => {
        for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
      })(),
      (e: unknown) => e instanceof OpenAI.APIError && /Copilot/.test(e.message),
    );
    assert.ok(text.startsWith('Echo:'));
  });

  test('headers then silence: the 200 at once, then after timeouts.stream_idle an error event; upstream closed', async () => {
    h.fake.faultNext(1, 'silence-after-headers', { path: '/chat/completions' });
    const res = await postChat(h, 'silence please', { stream: true });
    const headersAt = performance.now();
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const s = await readSse(res);
    // The headers did not wait for the first body bytes (the error event, 1 s later).
    const gapMs = performance.now() - headersAt;
    assert.ok(gapMs > 500, `the body ended ${gapMs.toFixed(0)} ms after the headers`);
    assert.equal(s.errors.length, 1, s.text);
    assert.match(s.errors[0]?.message ?? '', /silent for more than 1 s/);
    assert.equal(s.errors[0]?.code, 'upstream_timeout');
    await waitFor('the silent upstream request was closed', () => h.fake.abortedRequests === 1);
  });

  test('an upstream answer that arrives at once: the headers go out in the same write as the first events', async () => {
    const events = [
      { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: MODEL, choices: [{ index: 0, delta: { role: 'assistant', content: 'all at once' } }] },
      { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: MODEL, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
    ];
    const body = `${events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('')}data: [DONE]\n\n`;
    h.fake.failNext(1, { status: 200, body, headers: { 'content-type': 'text/event-stream' }, path: '/chat/completions' });
    // What the proxy hands its socket, flush by flush (Writable's _write/_writev: one syscall each).
    const flushes: string[] = [];
    const onConnection = (socket: Socket) => {
      const write = socket._write.bind(socket);
      const writev = socket._writev?.bind(socket);
      socket._write = (chunk, encoding, cb) => {
        flushes.push(String(chunk));
        write(chunk, encoding, cb);
      };
      if (writev) {
        socket._writev = (chunks, cb) => {
          flushes.push(chunks.map((c) => String(c.chunk)).join(''));
          writev(chunks, cb);
        };
      }
    };
    h.proxy.server.server.once('connection', onConnection);
    // A connection of its own (fetch would reuse one the watcher never sees).
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${h.url}/v1/chat/completions`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
        res.setEncoding('utf8');
        let all = '';
        res.on('data', (d: string) => (all += d));
        res.on('end', () => resolve(all));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ model: MODEL, stream: true, messages: [{ role: 'user', content: 'ignored' }] }));
    });
    assert.match(text, /all at once[\s\S]*data: \[DONE\]\n\n$/);
    assert.ok(flushes.length > 0, 'the proxy\'s connection was watched');
    assert.match(flushes[0] ?? '', /^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n[\s\S]*data: \{[^\n]*all at once/, 'headers and the first event in one write');
  });

  test('silence mid-stream: the same, after the first chunks', async () => {
    h.fake.faultNext(1, 'silence-mid-stream', { path: '/chat/completions', afterChunks: 3 });
    const s = await readSse(await postChat(h, 'x y z w', { stream: true }));
    assert.ok(s.content.startsWith('Echo:'));
    assert.equal(s.errors.length, 1, s.text);
    assert.match(s.errors[0]?.message ?? '', /silent/);
    await waitFor('the silent upstream request was closed', () => h.fake.abortedRequests === 1);
  });

  test('a malformed SSE line is dropped and the stream goes on to the end', async () => {
    h.fake.faultNext(1, 'malformed-sse', { path: '/chat/completions', afterChunks: 2 });
    const s = await readSse(await postChat(h, 'past the garbage', { stream: true }));
    assert.equal(s.content, 'Echo: past the garbage');
    assert.ok(s.done);
    assert.deepEqual(s.errors, []);
  });

  test('slow trickle (each event 300 ms apart, below stream_idle) completes', async () => {
    h.fake.faultNext(1, 'trickle', { path: '/chat/completions', delayMs: 300 });
    const s = await readSse(await postChat(h, 'slow but steady', { stream: true }));
    assert.equal(s.content, 'Echo: slow but steady');
    assert.ok(s.done);
    assert.deepEqual(s.errors, []);
  });

  test('200 concurrent streams, one upstream connection reset: only that one sees an error', async () => {
    h.fake.faultNext(1, 'reset-mid-stream', { path: '/chat/completions', afterChunks: 2 });
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const s = await readSse(await postChat(h, `stream number ${i}`, { stream: true }));
        return { i, s };
      }),
    );
    const failed = results.filter((r) => r.s.errors.length > 0);
    const ok = results.filter((r) => r.s.errors.length === 0);
    assert.equal(failed.length, 1);
    assert.equal(ok.length, 199);
    for (const r of ok) {
      assert.equal(r.s.content, `Echo: stream number ${r.i}`, 'no cross-talk between streams');
      assert.ok(r.s.done);
    }
    assert.equal(h.fake.counts.chat, 200);
  });
});

describe('proxy_context bounds a whole stream', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { timeouts: { proxy_context: 1, stream_idle: 30 } } });
  });
  after(async () => {
    await h.close();
  });

  test('a stream still running after timeouts.proxy_context is ended with an error event', async () => {
    h.fake.faultNext(1, 'trickle', { path: '/chat/completions', delayMs: 400 });
    const s = await readSse(await postChat(h, 'this takes far too long to finish', { stream: true }));
    assert.equal(s.errors.length, 1, s.text);
    assert.equal(s.errors[0]?.code, 'stream_timeout');
    await waitFor('upstream closed', () => h.fake.abortedRequests === 1);
    await assertHealthy(h);
  });
});
