import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from '../helpers/harness.ts';
import { parsePrometheusText, type Family } from './prom-parser.ts';
import { request } from './util.ts';

function family(fams: Map<string, Family>, name: string): Family {
  const f = fams.get(name);
  assert.ok(f, `metric ${name} present`);
  return f;
}

describe('GET /metrics (Prometheus text, prom-client, a registry per app)', () => {
  let h: Harness;
  let h2: Harness;
  before(async () => {
    h = await startHarness();
    h2 = await startHarness({ upstream: h.fake });
  });
  after(async () => {
    await h2.close();
    await h.close();
  });

  test('the parser itself is strict', () => {
    assert.throws(() => parsePrometheusText('x 1\n'), /no # TYPE/);
    assert.throws(() => parsePrometheusText('# TYPE x gauge\nx{a="b} 1\n'), /unterminated/);
    assert.throws(() => parsePrometheusText('# TYPE x gauge\nx 1\nx 2\n'), /duplicate/);
    assert.throws(() => parsePrometheusText('# TYPE x gauge\nx one\n'), /bad value/);
    assert.throws(() => parsePrometheusText('# TYPE x histogram\nx_bucket{le="1"} 1\nx_count 1\nx_sum 1\n'), /\+Inf/);
    assert.throws(() => parsePrometheusText('# TYPE x counter\nx 1'), /newline/);
  });

  test('after real traffic it scrapes cleanly and counts requests by route/model/status, latency, tokens, state', async () => {
    await h.openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'count me' }] });
    const stream = await h.openai.chat.completions.create({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'a b c' }] });
    for await (const _ of stream) {
      /* drain */
    }
    await request(h.url, { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: '{"model":5}' });
    await request(h.url, { path: `/nope/${'x'.repeat(50)}` });

    const res = await request(h.url, { path: '/metrics' });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const fams = parsePrometheusText(res.text);

    const reqs = family(fams, 'gcs_http_requests_total');
    assert.equal(reqs.type, 'counter');
    const ok = reqs.samples.find((s) => s.labels.route === '/v1/chat/completions' && s.labels.status === '200' && s.labels.model === 'gpt-4.1');
    assert.equal(ok?.value, 2, 'two successful chat requests with their model');
    assert.ok(reqs.samples.some((s) => s.labels.route === '/v1/chat/completions' && s.labels.status === '400' && s.labels.model === ''));
    assert.ok(reqs.samples.some((s) => s.labels.route === 'unmatched' && s.labels.status === '404'), 'unknown paths share one label value');
    assert.ok(!res.text.includes('xxxxxxxx'), 'raw paths never become labels');

    for (const name of ['gcs_http_request_duration_seconds', 'gcs_http_time_to_first_byte_seconds']) {
      const f = family(fams, name);
      assert.equal(f.type, 'histogram');
      const count = f.samples.find((s) => s.name === `${name}_count` && s.labels.route === '/v1/chat/completions' && (s.labels.status ?? '200') === '200');
      assert.ok((count?.value ?? 0) >= 2, `${name} observed the chat requests`);
    }
    const tokens = family(fams, 'gcs_tokens_total');
    assert.ok((tokens.samples.find((s) => s.labels.model === 'gpt-4.1' && s.labels.kind === 'prompt')?.value ?? 0) > 0);
    assert.ok((tokens.samples.find((s) => s.labels.model === 'gpt-4.1' && s.labels.kind === 'completion')?.value ?? 0) > 0);

    const circuit = family(fams, 'gcs_upstream_circuit_state');
    assert.equal(circuit.samples.find((s) => s.labels.state === 'closed')?.value, 1);
    assert.equal(family(fams, 'gcs_upstream_retries_total').type, 'counter');
    const expiry = family(fams, 'gcs_copilot_token_expiry_seconds').samples[0]?.value ?? 0;
    assert.ok(expiry > 60 && expiry <= 1800, `token seconds-to-expiry (${expiry})`);
    assert.equal(family(fams, 'gcs_token_health').samples.find((s) => s.labels.health === 'healthy')?.value, 1);
    assert.equal(family(fams, 'gcs_http_streams_in_flight').samples[0]?.value, 0);
    assert.equal(family(fams, 'gcs_http_requests_in_flight').samples[0]?.value, 1, 'the scrape itself');
    assert.ok(family(fams, 'process_cpu_user_seconds_total').samples.length === 1);
    assert.ok(family(fams, 'nodejs_eventloop_lag_seconds').samples.length === 1);
    assert.ok(family(fams, 'process_resident_memory_bytes'));
  });

  test('bad usage numbers from upstream ("12", -1, 1e999, 1.5) are dropped: streams finish, the proxy and /metrics live on', async () => {
    const before = parsePrometheusText((await request(h.url, { path: '/metrics' })).text);
    const promptBefore = family(before, 'gcs_tokens_total').samples.find((s) => s.labels.model === 'gpt-4.1' && s.labels.kind === 'prompt')?.value ?? 0;
    const bad: Array<Record<string, unknown>> = [{ prompt_tokens: '12' }, { prompt_tokens: -1, completion_tokens: 1.5 }, { completion_tokens: '1e999', prompt_tokens: Number.MAX_VALUE * 10 }];
    try {
      for (const patch of bad) {
        h.fake.usagePatch = patch;
        const stream = await h.openai.chat.completions.create({ model: 'gpt-4.1', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'bad numbers' }] });
        let text = '';
        for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
        assert.equal(text, 'Echo: bad numbers');
      }
    } finally {
      h.fake.usagePatch = null;
    }
    await new Promise((r) => setTimeout(r, 50)); // the 'finish' listeners ran
    const res = await request(h.url, { path: '/metrics' });
    assert.equal(res.status, 200);
    const after = parsePrometheusText(res.text);
    const promptAfter = family(after, 'gcs_tokens_total').samples.find((s) => s.labels.model === 'gpt-4.1' && s.labels.kind === 'prompt')?.value ?? 0;
    assert.equal(promptAfter, promptBefore, 'no bad prompt count was added');
    assert.equal((await request(h.url, { path: '/health' })).status, 200);
  });

  test('a stream in flight shows in gcs_http_streams_in_flight', async () => {
    h.fake.chunkDelayMs = 150;
    try {
      const stream = await h.openai.chat.completions.create({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'one two three four' }] });
      const it = stream[Symbol.asyncIterator]();
      await it.next();
      const fams = parsePrometheusText((await request(h.url, { path: '/metrics' })).text);
      assert.equal(family(fams, 'gcs_http_streams_in_flight').samples[0]?.value, 1);
      for (let r = await it.next(); !r.done; r = await it.next()) {
        /* drain */
      }
    } finally {
      h.fake.chunkDelayMs = 5;
    }
  });

  test('two apps in one process keep separate registries', async () => {
    await request(h2.url, { path: '/v1/models' });
    const a = parsePrometheusText((await request(h.url, { path: '/metrics' })).text);
    const b = parsePrometheusText((await request(h2.url, { path: '/metrics' })).text);
    const chatIn = (f: Map<string, Family>) =>
      family(f, 'gcs_http_requests_total').samples.filter((s) => s.labels.route === '/v1/chat/completions').reduce((n, s) => n + s.value, 0);
    assert.ok(chatIn(a) >= 3);
    assert.equal(chatIn(b), 0);
  });

  test('no token in the metrics text', async () => {
    const text = (await request(h.url, { path: '/metrics' })).text;
    assert.ok(!text.includes(h.githubToken));
    assert.doesNotMatch(text, /tid=|gh[opsu]_/);
  });

  test('scrape stays valid with unusual request paths and a bogus model', async () => {
    await request(h.url, { method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'we"ird\\mo\ndel', messages: [{ role: 'user', content: 'x' }] }) });
    await request(h.url, { path: '/v1/models/a%22b%5C' });
    const fams = parsePrometheusText((await request(h.url, { path: '/metrics' })).text);
    assert.ok(family(fams, 'gcs_http_requests_total').samples.every((s) => !s.labels.model?.includes('"')));
  });

  test('made-up model names on count_tokens (which answers any) never become series: labels come from Copilot\'s list', async () => {
    const before = (await request(h.url, { path: '/metrics' })).text.length;
    for (let i = 0; i < 300; i++) {
      const r = await request(h.url, {
        method: 'POST',
        path: '/v1/messages/count_tokens',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: `made-up-${i}-model`, messages: [{ role: 'user', content: 'x' }] }),
      });
      assert.ok(r.status < 500, String(r.status));
    }
    const text = (await request(h.url, { path: '/metrics' })).text;
    assert.doesNotMatch(text, /made-up-/);
    assert.ok(text.length - before < 5000, `/metrics grew by ${text.length - before} bytes`);
  });
});
