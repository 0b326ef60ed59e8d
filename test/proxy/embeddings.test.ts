import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { embed } from '../fake-upstream/replies.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';

const MODEL = 'text-embedding-3-small';

function assertClose(actual: readonly number[], expected: readonly number[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((x, i) => assert.ok(Math.abs(x - (expected[i] ?? NaN)) < 1e-6, `component ${i}: ${x} vs ${expected[i]}`));
}

describe('embeddings through the proxy with the official OpenAI SDK', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ config: { model_map: { 'my-embedder': MODEL } } });
  });
  after(async () => {
    await h.close();
  });
  beforeEach(() => {
    h.fake.clear();
    h.fake.clearInjections();
  });

  test('SDK default (it asks for base64 and decodes it): float vectors, list shape, usage', async () => {
    const r = await h.openai.embeddings.create({ model: MODEL, input: 'hello world' });
    assert.equal(r.object, 'list');
    assert.equal(r.data.length, 1);
    assert.equal(r.data[0]?.object, 'embedding');
    assert.equal(r.data[0]?.index, 0);
    assertClose(r.data[0]?.embedding ?? [], embed('hello world'));
    assert.ok(r.model.length > 0);
    assert.ok(r.usage.prompt_tokens > 0 && r.usage.total_tokens >= r.usage.prompt_tokens);
    // Copilot is always asked for floats; the proxy encodes for the client.
    const up = h.fake.last('/embeddings')?.body as Record<string, unknown>;
    assert.equal('encoding_format' in up, false);
    assert.equal(up.model, MODEL);
  });

  test('encoding_format float and base64 both honoured', async () => {
    const float = await h.openai.embeddings.create({ model: MODEL, input: ['a', 'b'], encoding_format: 'float' });
    assert.deepEqual(float.data.map((d) => d.index), [0, 1]);
    assert.deepEqual(float.data[1]?.embedding, embed('b'));

    const b64 = await h.openai.embeddings.create({ model: MODEL, input: 'a', encoding_format: 'base64' });
    const raw = b64.data[0]?.embedding as unknown;
    assert.equal(typeof raw, 'string');
    const buf = Buffer.from(String(raw), 'base64');
    assertClose(Array.from(new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength))), embed('a'));
  });

  test('model_map alias and the route without /v1', async () => {
    const r = await h.openai.embeddings.create({ model: 'my-embedder', input: 'x', encoding_format: 'float' });
    assert.deepEqual(r.data[0]?.embedding, embed('x'));
    assert.equal((h.fake.last('/embeddings')?.body as { model: string }).model, MODEL);

    const res = await fetch(`${h.url}/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, input: 'x' }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { data: Array<{ embedding: number[] }> };
    assert.deepEqual(body.data[0]?.embedding, embed('x'), 'no encoding_format: floats, as OpenAI');
  });

  test('bad input → 400 naming the param; a chat model → Copilot 400 kept', async () => {
    const res = await fetch(`${h.url}/v1/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, input: 42 }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { param: string; type: string } };
    assert.equal(body.error.param, 'input');
    assert.equal(body.error.type, 'invalid_request_error');
    assert.equal(h.fake.counts.embeddings, 0);

    await assert.rejects(
      h.openai.embeddings.create({ model: 'gpt-4.1', input: 'x' }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.code === 'model_not_supported',
    );
  });
});
