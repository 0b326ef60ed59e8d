import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { errors } from '../fake-upstream/index.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';

describe('chat completions through the proxy with the official OpenAI SDK', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { model_map: { 'my-alias': 'gpt-4.1' } } });
  });
  after(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.fake.clear();
    h.fake.clearInjections();
  });

  test('non-stream: reply, usage and Copilot headers upstream', async () => {
    const r = await h.openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hello there' }] });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0]?.message.content, 'Echo: hello there');
    assert.ok((r.usage?.total_tokens ?? 0) > 0);
    const up = h.fake.last('/chat/completions');
    assert.ok(up);
    assert.match(up.headers.authorization ?? '', /^Bearer tid=/);
    assert.equal(up.headers['copilot-integration-id'], 'vscode-chat');
    assert.match(up.headers['editor-version'] ?? '', /^vscode\//);
    assert.match(up.headers['editor-plugin-version'] ?? '', /^copilot-chat\//);
    assert.equal(up.headers['openai-intent'], 'conversation-edits');
    assert.equal(up.headers['x-initiator'], 'user');
    assert.equal(up.headers['copilot-vision-request'], undefined);
    assert.match(up.headers['x-request-id'] ?? '', /.+/);
  });

  test('the client X-Request-Id is echoed and sent upstream', async () => {
    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-abc-123' },
      body: JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), 'req-abc-123');
    assert.equal(h.fake.last('/chat/completions')?.headers['x-request-id'], 'req-abc-123');
  });

  test('model_map turns an alias into the Copilot model id', async () => {
    await h.openai.chat.completions.create({ model: 'my-alias', messages: [{ role: 'user', content: 'x' }] });
    const body = h.fake.last('/chat/completions')?.body as { model?: string };
    assert.equal(body.model, 'gpt-4.1');
  });

  test('stream: events arrive one by one, quirk chunk dropped, usage delivered when asked', async () => {
    h.fake.chunkDelayMs = 60;
    try {
      const stream = await h.openai.chat.completions.create({
        model: 'gpt-4.1',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'one two three four five' }],
      });
      const arrivals: number[] = [];
      let text = '';
      let usage: OpenAI.CompletionUsage | undefined;
      let sawFinish = false;
      for await (const chunk of stream) {
        arrivals.push(Date.now());
        assert.equal(chunk.object, 'chat.completion.chunk');
        assert.ok(chunk.id, 'every chunk has an id');
        assert.ok(chunk.model, 'every chunk has a model');
        if (chunk.usage) usage = chunk.usage;
        if (chunk.choices[0]?.finish_reason) sawFinish = true;
        text += chunk.choices[0]?.delta?.content ?? '';
      }
      assert.equal(text, 'Echo: one two three four five');
      assert.ok(sawFinish);
      assert.ok(usage && usage.total_tokens > 0, 'usage from the trailing empty-choices chunk reaches the client');
      // Relayed as it arrives: the first content arrived well before the last chunk.
      const span = (arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0);
      assert.ok(span >= 200, `chunks spread over time (span ${span} ms), not buffered to the end`);
    } finally {
      h.fake.chunkDelayMs = 5;
    }
  });

  test('stream without include_usage gets no usage chunk; usage inside the finish chunk is not lost', async () => {
    h.fake.usageInFinishChunk = true;
    try {
      const plain = await h.openai.chat.completions.create({ model: 'gpt-4.1', stream: true, messages: [{ role: 'user', content: 'a b' }] });
      for await (const c of plain) assert.equal(c.usage ?? undefined, undefined);
      const withUsage = await h.openai.chat.completions.create({
        model: 'gpt-4.1',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'a b' }],
      });
      const chunks = [];
      for await (const c of withUsage) chunks.push(c);
      const last = chunks.at(-1);
      assert.deepEqual(last?.choices, []);
      assert.ok((last?.usage?.total_tokens ?? 0) > 0);
    } finally {
      h.fake.usageInFinishChunk = false;
    }
  });

  test('tools round trip: tool call streamed, tool result answered, initiator agent', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
    ];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];
    const runner = h.openai.chat.completions.stream({ model: 'gpt-4.1', messages, tools });
    const first = await runner.finalChatCompletion();
    const call = first.choices[0]?.message.tool_calls?.[0];
    assert.equal(first.choices[0]?.finish_reason, 'tool_calls');
    assert.ok(call && call.type === 'function');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
    assert.equal(h.fake.last('/chat/completions')?.headers['x-initiator'], 'user');

    messages.push(first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: 'sunny, 21°C' });
    const second = await h.openai.chat.completions.create({ model: 'gpt-4.1', messages, tools });
    assert.equal(second.choices[0]?.message.content, 'The weather is sunny, 21°C');
    assert.equal(h.fake.last('/chat/completions')?.headers['x-initiator'], 'agent');
  });

  test('images pass through and set Copilot-Vision-Request', async () => {
    const r = await h.openai.chat.completions.create({
      model: 'gpt-4.1',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==' } },
          ],
        },
      ],
    });
    assert.equal(r.choices[0]?.message.content, 'I see an image');
    const up = h.fake.last('/chat/completions');
    assert.equal(up?.headers['copilot-vision-request'], 'true');
    const parts = (up?.body as { messages: Array<{ content: Array<{ type: string }> }> }).messages[0]?.content;
    assert.deepEqual(parts?.map((p) => p.type), ['text', 'image_url']);
  });

  test('models list and single model in OpenAI shape with Copilot extras', async () => {
    const list = await h.openai.models.list();
    const ids = list.data.map((m) => m.id);
    assert.ok(ids.includes('gpt-4.1'));
    const m = list.data.find((x) => x.id === 'gpt-4.1') as OpenAI.Model & { vendor?: string; capabilities?: { limits?: { max_context_window_tokens?: number } } };
    assert.equal(m.object, 'model');
    assert.ok(m.vendor);
    assert.ok((m.capabilities?.limits?.max_context_window_tokens ?? 0) > 0);
    const one = await h.openai.models.retrieve('gpt-4.1');
    assert.equal(one.id, 'gpt-4.1');
    await assert.rejects(h.openai.models.retrieve('no-such-model'), (e: unknown) => e instanceof OpenAI.NotFoundError);
  });

  test('models are cached and concurrent calls are coalesced into one upstream call', async () => {
    h.proxy.ctx.models.invalidate();
    h.fake.clear();
    const before = h.fake.counts.models;
    await Promise.all(Array.from({ length: 25 }, () => fetch(`${h.url}/v1/models`).then((r) => r.json())));
    await fetch(`${h.url}/models`);
    assert.equal(h.fake.counts.models - before, 1);
  });

  test('aliases without /v1 answer too', async () => {
    const res = await fetch(`${h.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(res.status, 200);
    assert.equal((await fetch(`${h.url}/health`)).status, 200);
    assert.equal((await fetch(`${h.url}/v1/health`)).status, 200);
  });
});

describe('error paths', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { max_body_bytes: 64 * 1024 } });
  });
  after(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.fake.clearInjections();
  });

  const post = (path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${h.url}${path}`, { method: 'POST', headers, body });

  test('malformed JSON → 400 in the OpenAI envelope', async () => {
    const res = await post('/v1/chat/completions', '{"model": "gpt-4.1", ');
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { message: string; type: string; code: string; param: unknown } };
    assert.equal(body.error.type, 'invalid_request_error');
    assert.equal(body.error.code, 'invalid_json');
    assert.ok('param' in body.error);
  });

  test('the body read (#22: one pass, as it arrives): compressed bodies, charsets, bad bytes, depth, strictness', async () => {
    const chat = JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'héllo' }] });
    const send = async (body: Uint8Array | string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${h.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
      const text = await res.text();
      return { status: res.status, text };
    };
    // Compressed bodies, as body-parser took them: gzip, deflate, br.
    assert.equal((await send(zlib.gzipSync(chat), { 'content-encoding': 'gzip' })).status, 200);
    assert.equal((await send(zlib.deflateSync(chat), { 'content-encoding': 'deflate' })).status, 200);
    assert.equal((await send(zlib.brotliCompressSync(chat), { 'content-encoding': 'br' })).status, 200);
    assert.equal((await send(chat, { 'content-type': 'application/json; charset=UTF-8' })).status, 200);
    // A bomb: 64 KiB limit here, a small gzip that inflates far past it.
    const bomb = await send(zlib.gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20)), { 'content-encoding': 'gzip' });
    assert.equal(bomb.status, 413, bomb.text);
    assert.match((await send(Buffer.from([0x1f, 0x8b, 0x08, 0, 1, 2, 3]), { 'content-encoding': 'gzip' })).text, /could not be decompressed/);
    const zstd = await send(chat, { 'content-encoding': 'zstd' });
    assert.equal(zstd.status, 415);
    assert.match(zstd.text, /unsupported_encoding/);
    assert.equal((await send(chat, { 'content-type': 'application/json; charset=utf-16' })).status, 415);
    // Invalid UTF-8 is refused, never replaced; also when the bad byte is the last one (the decoder's end).
    const bad = Buffer.concat([Buffer.from('{"model":"gpt-4.1","messages":[{"role":"user","content":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}')]);
    assert.match((await send(bad)).text, /invalid_encoding/);
    assert.match((await send(Buffer.concat([Buffer.from('{"a":1} '), Buffer.from([0xe2, 0x82])]))).text, /invalid_encoding/);
    // Nesting past 128, and a top level that is not an object or array (strict, as body-parser).
    const deep = await send(`{"model":"gpt-4.1","x":${'['.repeat(200)}${']'.repeat(200)}}`);
    assert.equal(deep.status, 400);
    assert.match(deep.text, /nested deeper than 128/);
    assert.match((await send('"just a string"')).text, /invalid_json/);
    // An empty body is {}: the route then names what is missing. Blanks alone are not JSON.
    const empty = await send('');
    assert.equal(empty.status, 400);
    assert.match(empty.text, /"param":"model"/);
    assert.match((await send('  \n ')).text, /invalid_json/);
    // A charset inside a quoted parameter is not the body's charset.
    assert.equal((await send(chat, { 'content-type': 'application/json; note="see; charset=utf-16"' })).status, 200);
    h.fake.clear();
  });

  test('compressed, the bytes on the wire count against max_body_bytes too (#20: a stream of empty gzip members inflates to nothing)', async () => {
    const u = new URL(h.url);
    const members = Buffer.concat(Array.from({ length: 4000 }, () => zlib.gzipSync(Buffer.alloc(0))));
    assert.ok(members.length > 64 * 1024);
    const status = await new Promise<number>((resolve, reject) => {
      // Chunked (no Content-Length), so only the bytes as they arrive can tell.
      const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write(members); // write, then end: Node sends it chunked (end(data) alone would declare its length)
      req.end();
    });
    assert.equal(status, 413);
  });

  test('a body refused before it was all read: one answer, the rest read and dropped for at most 5 s (drainLimits), then the connection is cut, never a second answer (#20)', async () => {
    const u = new URL(h.url);
    const s = net.connect(Number(u.port), u.hostname);
    await once(s, 'connect');
    const started = Date.now();
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('error', () => undefined);
    // Declares 10 MB (the limit here is 64 KiB): refused at once, with most of the body still to come, and never sent.
    s.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n{"model":"gpt-4.1",`);
    const closed = await Promise.race([once(s, 'close').then(() => Date.now() - started), new Promise<number>((r) => setTimeout(() => r(-1), 9000))]);
    s.destroy();
    assert.ok(closed >= 4500, `the proxy cut the connection after ${closed} ms: ${text.slice(0, 300)}`);
    assert.match(text, /^HTTP\/1\.1 413 /);
    assert.doesNotMatch(text, /\r\nconnection: close\r\n/i);
    assert.equal(text.match(/HTTP\/1\.1 /g)?.length, 1, 'one answer');
  });

  test('body over max_body_bytes → 413', async () => {
    const res = await post('/v1/chat/completions', JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x'.repeat(70 * 1024) }] }));
    assert.equal(res.status, 413);
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'request_too_large');
  });

  test('unknown route → 404 envelope', async () => {
    const res = await fetch(`${h.url}/v1/nope`);
    assert.equal(res.status, 404);
    const body = (await res.json()) as { error: { type: string } };
    assert.equal(body.error.type, 'not_found_error');
  });

  test('a known route with the wrong method → 405 with Allow', async () => {
    const res = await fetch(`${h.url}/v1/chat/completions`);
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(body.error.code, 'method_not_allowed');
    const del = await fetch(`${h.url}/v1/models`, { method: 'DELETE' });
    assert.equal(del.status, 405);
    assert.equal(del.headers.get('allow'), 'GET, HEAD');
    // Every route in the one table (#22): these answered 404 while the 405 list was a second copy.
    for (const [method, path, allow] of [
      ['GET', '/admin/sign-in', 'POST'],
      ['POST', '/usage/events', 'GET, HEAD'],
      ['DELETE', '/', 'GET, HEAD'],
      ['PUT', '/dashboard/dashboard.js', 'GET, HEAD'],
    ] as const) {
      const r = await fetch(`${h.url}${path}`, { method, ...(method === 'GET' ? {} : { headers: { 'content-type': 'application/json' }, body: '{}' }) });
      assert.equal(r.status, 405, `${method} ${path}`);
      assert.equal(r.headers.get('allow'), allow, `${method} ${path}`);
    }
    // Answered before the body is read: a 405 costs no body budget.
    const head = await fetch(`${h.url}/v1/messages`, { method: 'GET' });
    assert.equal(head.status, 405);
    assert.equal(((await head.json()) as { type: string }).type, 'error', 'in the Anthropic shape on an Anthropic route');
  });

  test('missing fields → 400 naming the param; non-JSON content type → 415', async () => {
    const res = await post('/v1/chat/completions', JSON.stringify({ messages: [{ role: 'user', content: 'x' }] }));
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { param: string } }).error.param, 'model');
    const form = await post('/v1/chat/completions', 'model=x', { 'content-type': 'text/plain' });
    assert.equal(form.status, 415);
  });

  test('an unknown model: 404 model_not_found listing the available ids, nothing sent upstream', async () => {
    const before = h.fake.counts.chat;
    await assert.rejects(
      h.openai.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) =>
        e instanceof OpenAI.NotFoundError && e.code === 'model_not_found' && e.param === 'model' && /"no-such-model".*Available models: .*gpt-4\.1.*claude-sonnet-4/.test(e.message),
    );
    assert.equal(h.fake.counts.chat, before);
  });

  test('upstream 400 model_not_supported keeps status, code and the message as text', async () => {
    h.fake.failNext(1, { ...errors.modelNotSupported(), path: '/chat/completions' });
    await assert.rejects(
      h.openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.message.includes('The requested model is not supported.') && e.code === 'model_not_supported',
    );
  });

  test('upstream 402 quota, 403, 429 and 5xx keep their status; message is text, not JSON-in-a-string', async () => {
    const cases: Array<[ReturnType<typeof errors.quotaExceeded>, number]> = [
      [errors.quotaExceeded(), 402],
      [errors.rateLimited(7), 429],
      [errors.serverError(500), 500],
      [errors.serverError(503), 503],
    ];
    for (const [spec, status] of cases) {
      h.fake.failNext(10, { ...spec, path: '/chat/completions' });
      const res = await post('/v1/chat/completions', JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }));
      h.fake.clearInjections();
      assert.equal(res.status, status, `status ${status}`);
      const body = (await res.json()) as { error: { message: string } };
      assert.ok(!body.error.message.trim().startsWith('{'), `plain message for ${status}: ${body.error.message}`);
      if (status === 402) assert.equal(body.error.message, 'You have no quota');
      if (status === 429) assert.equal(res.headers.get('retry-after'), '7');
    }
  });

  test('Copilot 401 token expired → one refresh and one retry, the client sees success', async () => {
    const exchanges = h.fake.counts.exchange;
    h.fake.failNext(1, { ...errors.tokenExpired(), path: '/chat/completions' });
    const r = await h.openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'after refresh' }] });
    assert.equal(r.choices[0]?.message.content, 'Echo: after refresh');
    assert.equal(h.fake.counts.exchange - exchanges, 1);
  });
});

describe('usage', () => {
  test('GET /usage returns the premium-request quota, cached, without any token', async () => {
    const h = await startHarness();
    try {
      const res = await fetch(`${h.url}/usage`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { entitlement: number; remaining: number; percentRemaining: number; resetDate: string; unlimited: boolean };
      assert.equal(body.entitlement, h.fake.quota.entitlement);
      assert.equal(body.remaining, h.fake.quota.remaining);
      assert.equal(body.resetDate, h.fake.quota.resetDate);
      assert.equal(body.unlimited, false);
      const before = h.fake.counts.user;
      await Promise.all([fetch(`${h.url}/v1/usage`), fetch(`${h.url}/usage`)]);
      assert.equal(h.fake.counts.user, before, 'cached');
      const text = JSON.stringify(body);
      assert.ok(!text.includes(h.githubToken));
    } finally {
      await h.close();
    }
  });
});

describe("the Go tool's headers and allowed_models", () => {
  test('headers override the editor identity sent to Copilot and to the token exchange; allowed_models filters /v1/models', async () => {
    const h = await startHarness({
      config: {
        headers: { editor_version: 'vscode/1.999.0', editor_plugin_version: 'copilot-chat/9.9.9', user_agent: 'GitHubCopilotChat/9.9.9' },
        allowed_models: ['gpt-4.1'],
      },
    });
    try {
      await h.openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] });
      const up = h.fake.last('/chat/completions');
      assert.equal(up?.headers['editor-version'], 'vscode/1.999.0');
      assert.equal(up?.headers['editor-plugin-version'], 'copilot-chat/9.9.9');
      assert.equal(up?.headers['user-agent'], 'GitHubCopilotChat/9.9.9');
      assert.equal(h.fake.last('/copilot_internal/v2/token')?.headers['editor-version'], 'vscode/1.999.0');
      const list = await h.openai.models.list();
      assert.deepEqual(list.data.map((m) => m.id), ['gpt-4.1']);
      await assert.rejects(h.openai.models.retrieve('gpt-4o'), (e: unknown) => e instanceof OpenAI.NotFoundError);
    } finally {
      await h.close();
    }
  });
});
