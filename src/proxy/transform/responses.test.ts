import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidRequestError } from '../../errors.ts';
import { ResponsesIdNormalizer, normalizeResponse, prepareResponses, responsesHasImage, responsesInitiator } from './responses.ts';

describe('prepareResponses', () => {
  test('maps the model, keeps the body, reads stream, initiator and vision', () => {
    const p = prepareResponses(
      {
        model: 'codex',
        stream: true,
        instructions: 'be brief',
        input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }, { type: 'input_image', image_url: 'data:image/png;base64,AA' }] }],
      },
    );
    assert.equal(p.model, 'codex');
    assert.equal(p.upstreamBody.model, 'codex');
    assert.equal(p.upstreamBody.instructions, 'be brief');
    assert.equal(p.stream, true);
    assert.equal(p.initiator, 'user');
    assert.equal(p.vision, true);
  });

  test('rejects bodies without model or input, naming the param', () => {
    assert.throws(() => prepareResponses({ input: 'x' }), (e: unknown) => e instanceof InvalidRequestError && e.param === 'model');
    assert.throws(() => prepareResponses({ model: 'm' }), (e: unknown) => e instanceof InvalidRequestError && e.param === 'input');
    assert.throws(() => prepareResponses({ model: 'm', input: 42 }), (e: unknown) => e instanceof InvalidRequestError && e.status === 400);
  });

  test('initiator: user only when the last item is a user message', () => {
    assert.equal(responsesInitiator('hello'), 'user');
    assert.equal(responsesInitiator([{ role: 'user', content: 'x' }]), 'user');
    assert.equal(responsesInitiator([{ type: 'message', role: 'user', content: 'x' }]), 'user');
    assert.equal(responsesInitiator([{ role: 'user', content: 'x' }, { type: 'function_call', call_id: 'c' }, { type: 'function_call_output', call_id: 'c', output: 'ok' }]), 'agent');
    assert.equal(responsesInitiator([{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y' }]), 'agent');
    assert.equal(responsesInitiator([{ role: 'developer', content: 'x' }]), 'agent');
  });

  test('vision only for input_image parts', () => {
    assert.equal(responsesHasImage('input_image'), false);
    assert.equal(responsesHasImage([{ role: 'user', content: [{ type: 'input_text', text: 'input_image' }] }]), false);
    assert.equal(responsesHasImage([{ role: 'user', content: [{ type: 'input_image', image_url: 'x' }] }]), true);
  });
});

describe('ResponsesIdNormalizer', () => {
  // Recorded shape of a Copilot /responses stream: the item id changes between
  // output_item.added, the text deltas, output_item.done and response.completed.
  const copilotStream = [
    { type: 'response.created', sequence_number: 0, response: { id: 'resp_1', object: 'response', status: 'in_progress', output: [] } },
    { type: 'response.in_progress', sequence_number: 1, response: { id: 'resp_1', object: 'response', status: 'in_progress', output: [] } },
    { type: 'response.output_item.added', sequence_number: 2, output_index: 0, item: { type: 'message', id: 'msg_ADDED', status: 'in_progress', role: 'assistant', content: [] } },
    { type: 'response.content_part.added', sequence_number: 3, item_id: 'msg_PART', output_index: 0, content_index: 0, part: { type: 'output_text', text: '' } },
    { type: 'response.output_text.delta', sequence_number: 4, item_id: 'msg_DELTA1', output_index: 0, content_index: 0, delta: 'Hel' },
    { type: 'response.output_text.delta', sequence_number: 5, item_id: 'msg_DELTA2', output_index: 0, content_index: 0, delta: 'lo' },
    { type: 'response.output_text.done', sequence_number: 6, item_id: 'msg_DELTA3', output_index: 0, content_index: 0, text: 'Hello' },
    { type: 'response.output_item.added', sequence_number: 7, output_index: 1, item: { type: 'function_call', status: 'in_progress', call_id: 'call_1', name: 'f', arguments: '' } },
    { type: 'response.function_call_arguments.delta', sequence_number: 8, output_index: 1, delta: '{}' },
    { type: 'response.output_item.done', sequence_number: 9, output_index: 0, item: { type: 'message', id: 'msg_DONE', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hello' }] } },
    { type: 'response.output_item.done', sequence_number: 10, output_index: 1, item: { type: 'function_call', id: 'fc_DONE', status: 'completed', call_id: 'call_1', name: 'f', arguments: '{}' } },
    {
      type: 'response.completed',
      sequence_number: 11,
      response: {
        id: 'resp_1',
        object: 'response',
        status: 'completed',
        output: [
          { type: 'message', id: 'msg_COMPLETED', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hello' }] },
          { type: 'function_call', id: 'fc_COMPLETED', call_id: 'call_1', name: 'f', arguments: '{}' },
        ],
        usage: { input_tokens: 9, output_tokens: 2, total_tokens: 11 },
      },
    },
  ];

  test('one id per output item across added, part events, done and completed', () => {
    let n = 0;
    const norm = new ResponsesIdNormalizer((prefix) => `${prefix}minted${++n}`);
    const out = copilotStream.map((e) => norm.push(e)) as Array<Record<string, unknown> & { item?: { id: string }; item_id?: string; response?: { output: Array<{ id: string }> } }>;
    const msgIds = new Set<string | undefined>();
    const fcIds = new Set<string | undefined>();
    for (const e of out) {
      const idx = e.output_index;
      const id = e.item?.id ?? e.item_id;
      if (idx === 0) msgIds.add(id);
      if (idx === 1) fcIds.add(id);
    }
    assert.deepEqual([...msgIds], ['msg_ADDED']);
    assert.deepEqual([...fcIds], ['fc_minted1'], 'an item added without an id gets one minted, with the OpenAI prefix');
    const completed = out.at(-1)?.response?.output;
    assert.deepEqual(completed?.map((o) => o.id), ['msg_ADDED', 'fc_minted1']);
    assert.equal(norm.finished, true);
    assert.deepEqual(norm.usage, { input_tokens: 9, output_tokens: 2, total_tokens: 11 });
    // Everything else is untouched.
    assert.equal(out[4]?.delta, 'Hel');
    assert.equal(out[4]?.sequence_number, 4);
  });

  test('stable streams pass unchanged; unknown shapes pass through; events without output_index follow known aliases', () => {
    const norm = new ResponsesIdNormalizer();
    const added = { type: 'response.output_item.added', output_index: 0, item: { type: 'message', id: 'msg_A' } };
    assert.deepEqual(norm.push(added), added);
    assert.deepEqual(norm.push({ type: 'x.custom', item_id: 'msg_A' }), { type: 'x.custom', item_id: 'msg_A' });
    assert.equal(norm.push('not an object'), 'not an object');
    assert.equal(norm.finished, false);
  });
});

describe('normalizeResponse', () => {
  test('keeps the response and fills id, object, model and output when missing', () => {
    const out = normalizeResponse({ status: 'completed', output: null }, 'gpt-4.1', () => 'resp_x');
    assert.equal(out.id, 'resp_x');
    assert.equal(out.object, 'response');
    assert.equal(out.model, 'gpt-4.1');
    assert.deepEqual(out.output, []);
    const kept = normalizeResponse({ id: 'resp_1', object: 'response', model: 'gpt-5', output: [{ type: 'message' }] }, 'x');
    assert.equal(kept.id, 'resp_1');
    assert.equal(kept.model, 'gpt-5');
  });
});
