import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidRequestError, UpstreamHttpError } from '../../errors.ts';
import { base64ToFloats, floatsToBase64, normalizeEmbeddings, prepareEmbeddings } from './embeddings.ts';

// Recorded shape of Copilot's /embeddings answer (Azure OpenAI flavour).
const copilotReply = {
  data: [
    { embedding: [0.5, -0.25, 0.125], index: 0, object: 'embedding' },
    { embedding: [1, 0, -1], index: 1, object: 'embedding' },
  ],
  model: 'text-embedding-3-small',
  usage: { prompt_tokens: 4, total_tokens: 4 },
};

describe('prepareEmbeddings', () => {
  test('maps the model, never asks Copilot for base64, remembers what the client wants', () => {
    const p = prepareEmbeddings({ model: 'text-embedding-3-small', input: ['a', 'b'], encoding_format: 'base64', dimensions: 8 });
    assert.equal(p.model, 'text-embedding-3-small');
    assert.equal(p.format, 'base64');
    assert.deepEqual(p.upstreamBody, { model: 'text-embedding-3-small', input: ['a', 'b'], dimensions: 8 });
    assert.equal(prepareEmbeddings({ model: 'm', input: 'x' }).format, 'float');
  });

  test('rejects bad input with the param named', () => {
    const bad = (body: unknown, param: string) =>
      assert.throws(() => prepareEmbeddings(body), (e: unknown) => e instanceof InvalidRequestError && e.status === 400 && e.param === param);
    bad({ input: 'x' }, 'model');
    bad({ model: 'm' }, 'input');
    bad({ model: 'm', input: [] }, 'input');
    bad({ model: 'm', input: [{ text: 'x' }] }, 'input.0');
    bad({ model: 'm', input: 42 }, 'input');
    bad({ model: 'm', input: 'x', encoding_format: 'hex' }, 'encoding_format');
  });

  test('token arrays are accepted and passed on', () => {
    assert.deepEqual(prepareEmbeddings({ model: 'm', input: [[1, 2], [3]] }).upstreamBody.input, [[1, 2], [3]]);
  });
});

describe('normalizeEmbeddings', () => {
  test('float: OpenAI list shape with object, index, model and usage', () => {
    const out = normalizeEmbeddings(copilotReply, 'x', 'float');
    assert.deepEqual(out, {
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.5, -0.25, 0.125] },
        { object: 'embedding', index: 1, embedding: [1, 0, -1] },
      ],
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 4, total_tokens: 4 },
    });
  });

  test('base64: little-endian float32, decodable the way the OpenAI SDK does', () => {
    const out = normalizeEmbeddings(copilotReply, 'x', 'base64');
    const first = out.data[0]?.embedding;
    assert.equal(typeof first, 'string');
    const buf = Buffer.from(String(first), 'base64');
    const f32 = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    assert.deepEqual([...f32], [0.5, -0.25, 0.125]);
  });

  test('an upstream that answers base64 anyway still gives float clients numbers', () => {
    const reply = { data: [{ embedding: floatsToBase64([0.5, 2]) }] };
    const out = normalizeEmbeddings(reply, 'req-model', 'float');
    assert.deepEqual(out.data[0], { object: 'embedding', index: 0, embedding: [0.5, 2] });
    assert.equal(out.model, 'req-model');
    assert.deepEqual(out.usage, { prompt_tokens: 0, total_tokens: 0 });
  });

  test('round trip and an unexpected shape', () => {
    assert.deepEqual(base64ToFloats(floatsToBase64([1.5, -3, 0])), [1.5, -3, 0]);
    assert.throws(() => normalizeEmbeddings({ nope: true }, 'm', 'float'), (e: unknown) => e instanceof UpstreamHttpError && e.status === 502);
  });
});
