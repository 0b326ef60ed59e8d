import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as z from 'zod';
import { InvalidRequestError } from '../../../errors.ts';
import { IMAGE_TOKEN_ESTIMATE, estimateInputTokens } from './count-tokens.ts';
import { NativeStreamWatcher } from './native-stream.ts';
import { anthropicHasImage, anthropicInitiator, foldSystemMessages, prepareMessages, toChatRequest, translatableRequestSchema } from './request.ts';
import { fromChatCompletion, stopReasonOf } from './response.ts';
import { AnthropicStreamTranslator, type AnthropicEvent } from './stream.ts';
import { parseOrThrow } from '../validate.ts';

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

const translate = (body: unknown, model = 'gpt-4.1') => toChatRequest(parseOrThrow(translatableRequestSchema, body), model);

describe('prepareMessages', () => {
  test('maps the model and reads stream, initiator and vision', () => {
    const p = prepareMessages(
      { model: 'sonnet', max_tokens: 100, stream: true, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] }] },
    );
    assert.equal(p.model, 'sonnet');
    assert.equal(p.stream, true);
    assert.equal(p.initiator, 'user');
    assert.equal(p.vision, true);
  });

  test('400 naming the param for missing or malformed fields', () => {
    const bad = (body: unknown, param: string) =>
      assert.throws(() => prepareMessages(body), (e: unknown) => e instanceof InvalidRequestError && e.status === 400 && e.param === param);
    bad({ max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, 'model');
    bad({ model: 'm', max_tokens: 5 }, 'messages');
    bad({ model: 'm', messages: [{ role: 'tool', content: 'x' }] }, 'messages.0.role');
    assert.throws(
      () => prepareMessages({ model: 'm', messages: [{ role: 'user', content: 'x' }, { role: 'tool', content: 'x' }] }),
      (e: unknown) => e instanceof InvalidRequestError && e.message === 'messages.1.role: role "tool" is not accepted (use "user", "assistant", "system")',
    );
    bad({ model: 'm', messages: [{ role: 'user', content: [{ text: 'no type' }] }] }, 'messages.0.content.0.type');
    bad({ model: 'm', max_tokens: 0, messages: [{ role: 'user', content: 'x' }] }, 'max_tokens');
  });

  test('translation refuses blocks it cannot express, naming where', () => {
    assert.throws(
      () => translate({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'document', source: {} }] }] }),
      (e: unknown) => e instanceof InvalidRequestError && e.param === 'messages.0.content.1.type' && /content block type "document" cannot be translated/.test(e.message),
    );
  });
});

describe('initiator and vision', () => {
  test('user only for a typed user turn; tool results alone are agent', () => {
    assert.equal(anthropicInitiator([{ role: 'user', content: 'hi' }]), 'user');
    assert.equal(anthropicInitiator([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }]), 'user');
    assert.equal(anthropicInitiator([{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }]), 'agent');
    assert.equal(anthropicInitiator([{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'ok' }] }]), 'agent');
    assert.equal(
      anthropicInitiator([{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'ok' }, { type: 'text', text: 'and also…' }] }]),
      'user',
    );
  });

  test('images inside tool results count', () => {
    assert.equal(anthropicHasImage([{ content: 'image' }]), false);
    assert.equal(
      anthropicHasImage([{ content: [{ type: 'tool_result', content: [{ type: 'image', source: { type: 'url', url: 'https://x/y.png' } }] }] }]),
      true,
    );
  });
});

describe('toChatRequest', () => {
  test('system, text, image, tool_use, tool_result, tools, tool_choice, stop_sequences, max_tokens, temperature, stream', () => {
    const out = translate({
      model: 'gpt',
      max_tokens: 256,
      temperature: 0.2,
      top_p: 0.9,
      top_k: 5,
      stop_sequences: ['END'],
      stream: true,
      system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'Really.' }],
      tools: [
        { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
        { type: 'web_search_20250305', name: 'web_search', max_uses: 3 },
      ],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'hmm', signature: 'sig' },
            { type: 'text', text: 'Let me check.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'sunny' }] },
            { type: 'text', text: 'Thanks' },
          ],
        },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_2', content: 'boom', is_error: true }] },
      ],
    });
    assert.deepEqual(out, {
      model: 'gpt-4.1',
      max_tokens: 256,
      temperature: 0.2,
      top_p: 0.9,
      stop: ['END'],
      stream: true,
      stream_options: { include_usage: true },
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
        },
      ],
      tool_choice: 'required',
      parallel_tool_calls: false,
      messages: [
        { role: 'system', content: 'You are terse.\n\nReally.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
          ],
        },
        {
          role: 'assistant',
          content: 'Let me check.',
          // The thinking block comes back to Copilot as its reasoning fields (thinking.test.ts).
          reasoning_text: 'hmm',
          reasoning_opaque: 'sig',
          tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
        { role: 'user', content: 'Thanks' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_2', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'toolu_2', content: 'Error: boom' },
      ],
    });
  });

  test('tool_choice forms', () => {
    const base = { model: 'm', messages: [{ role: 'user', content: 'x' }], tools: [{ name: 'f', input_schema: { type: 'object' } }] };
    assert.equal(translate({ ...base, tool_choice: { type: 'auto' } }).tool_choice, 'auto');
    assert.equal(translate({ ...base, tool_choice: { type: 'none' } }).tool_choice, 'none');
    assert.deepEqual(translate({ ...base, tool_choice: { type: 'tool', name: 'f' } }).tool_choice, { type: 'function', function: { name: 'f' } });
    assert.equal('tool_choice' in translate(base), false);
    assert.equal('stream' in translate(base), false);
  });

  test('images in a tool result follow in a user message', () => {
    const out = translate({
      model: 'm',
      messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'shot' }, { type: 'image', source: { type: 'url', url: 'https://x/y.png' } }] }] }],
    });
    assert.deepEqual(out.messages, [
      { role: 'tool', tool_call_id: 't', content: 'shot' },
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] },
    ]);
  });
});

describe('fromChatCompletion', () => {
  // Recorded shape of a Copilot chat completion for a Claude model: text and tool call in separate choices.
  const split = {
    choices: [
      { finish_reason: 'stop', index: 0, message: { content: 'Let me look.', role: 'assistant' } },
      { finish_reason: 'stop', index: 1, message: { role: 'assistant', tool_calls: [{ function: { arguments: '{"city":"Paris"}', name: 'get_weather' }, id: 'toolu_vrtx_01', type: 'function' }] } },
    ],
    created: 1731000000,
    id: 'msg_vrtx_01',
    model: 'claude-sonnet-4',
    usage: { completion_tokens: 12, prompt_tokens: 100, prompt_tokens_details: { cached_tokens: 40 }, total_tokens: 112 },
  };

  test('merges every choice; tool calls decide the stop reason; cache reads apart from input', () => {
    const m = fromChatCompletion(split, 'claude-sonnet-4', () => 'msg_fixed');
    assert.deepEqual(m, {
      id: 'msg_fixed',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4',
      content: [
        { type: 'text', text: 'Let me look.' },
        { type: 'tool_use', id: 'toolu_vrtx_01', name: 'get_weather', input: { city: 'Paris' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 60, output_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 40 },
    });
  });

  test('finish reasons map to Anthropic stop reasons', () => {
    assert.equal(stopReasonOf('stop', false), 'end_turn');
    assert.equal(stopReasonOf('length', false), 'max_tokens');
    assert.equal(stopReasonOf('tool_calls', true), 'tool_use');
    assert.equal(stopReasonOf('content_filter', false), 'refusal');
    assert.equal(stopReasonOf(null, false), 'end_turn');
    assert.equal(stopReasonOf('length', true), 'max_tokens');
  });

  test('broken tool arguments give an empty input, not a failure', () => {
    const m = fromChatCompletion({ choices: [{ finish_reason: 'tool_calls', message: { tool_calls: [{ id: 'c', function: { name: 'f', arguments: '{"a":' } }] } }] }, 'm');
    assert.deepEqual(m.content, [{ type: 'tool_use', id: 'c', name: 'f', input: {} }]);
  });
});

describe('AnthropicStreamTranslator', () => {
  const env = { created: 1731000000, id: 'chatcmpl-abc', model: 'gpt-4.1-2025-04-14' };
  // Recorded shape of Copilot chat streams (see transform/chat.test.ts): prompt-filter chunk first, usage trailing.
  const textStream = [
    { choices: [], created: 0, id: '', prompt_filter_results: [{ content_filter_results: {}, prompt_index: 0 }] },
    { ...env, choices: [{ index: 0, delta: { content: '', role: 'assistant' } }] },
    { ...env, choices: [{ index: 0, delta: { content: 'Hel' }, content_filter_offsets: { check_offset: 0 } }] },
    { ...env, choices: [{ index: 0, delta: { content: 'lo' } }] },
    { ...env, choices: [{ index: 0, delta: { content: null }, finish_reason: 'stop' }] },
    { ...env, choices: [], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } },
  ];
  const toolStream = [
    { choices: [], created: 0, id: '', prompt_filter_results: [] },
    { ...env, choices: [{ index: 0, delta: { content: 'Checking.', role: 'assistant' } }] },
    { ...env, choices: [{ index: 0, delta: { content: null, tool_calls: [{ function: { arguments: '', name: 'get_weather' }, id: 'call_1', index: 0, type: 'function' }] } }] },
    { ...env, choices: [{ index: 0, delta: { content: null, tool_calls: [{ function: { arguments: '{"city":' }, index: 0 }] } }] },
    { ...env, choices: [{ index: 0, delta: { content: null, tool_calls: [{ function: { arguments: '"Paris"}' }, index: 0 }] } }] },
    { ...env, choices: [{ index: 0, delta: { content: null }, finish_reason: 'tool_calls' }], usage: { prompt_tokens: 30, completion_tokens: 9, total_tokens: 39 } },
  ];

  const run = (chunks: unknown[]): AnthropicEvent[] => {
    const t = new AnthropicStreamTranslator({ model: 'gpt-4.1', newId: () => 'msg_1' });
    return [...chunks.flatMap((c) => t.push(c)), ...t.finish()];
  };

  test('text: message_start, one text block, message_delta with stop reason and usage, message_stop', () => {
    const events = run(textStream);
    assert.deepEqual(
      events.map((e) => e.event),
      ['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'],
    );
    for (const e of events) assert.equal(e.data.type, e.event);
    assert.deepEqual(events[0]?.data.message, {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'gpt-4.1',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
    assert.deepEqual(events[1]?.data, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    assert.deepEqual(events[2]?.data.delta, { type: 'text_delta', text: 'Hel' });
    assert.deepEqual(events[5]?.data, {
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 5, output_tokens: 2, cache_read_input_tokens: 0 },
    });
  });

  test('text then tool call: two blocks, input_json_delta fragments, stop reason tool_use', () => {
    const events = run(toolStream);
    assert.deepEqual(
      events.map((e) => `${e.event}${e.data.index === undefined ? '' : `#${String(e.data.index)}`}`),
      [
        'message_start',
        'content_block_start#0',
        'content_block_delta#0',
        'content_block_stop#0',
        'content_block_start#1',
        'content_block_delta#1',
        'content_block_delta#1',
        'content_block_stop#1',
        'message_delta',
        'message_stop',
      ],
    );
    assert.deepEqual(events[4]?.data.content_block, { type: 'tool_use', id: 'call_1', name: 'get_weather', input: {} });
    assert.deepEqual(events[5]?.data.delta, { type: 'input_json_delta', partial_json: '{"city":' });
    assert.equal((events[8]?.data.delta as { stop_reason: string }).stop_reason, 'tool_use');
  });

  test('parallel tool calls and a Claude split over two choices each get their own block', () => {
    const events = run([
      { ...env, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'a', function: { name: 'f', arguments: '{}' } }] } }] },
      { ...env, choices: [{ index: 0, delta: { tool_calls: [{ index: 1, id: 'b', function: { name: 'g', arguments: '{}' } }] } }] },
      { ...env, choices: [{ index: 1, delta: { tool_calls: [{ index: 0, id: 'c', function: { name: 'h', arguments: '{}' } }] }, finish_reason: 'stop' }] },
    ]);
    const starts = events.filter((e) => e.event === 'content_block_start').map((e) => (e.data.content_block as { id: string }).id);
    assert.deepEqual(starts, ['a', 'b', 'c']);
    assert.equal(events.filter((e) => e.event === 'content_block_stop').length, 3);
  });

  test('an empty stream still yields a well-formed message', () => {
    const t = new AnthropicStreamTranslator({ model: 'm' });
    assert.deepEqual(
      t.finish().map((e) => e.event),
      ['message_start', 'message_delta', 'message_stop'],
    );
    assert.equal(t.sawFinish, false);
  });
});

describe('NativeStreamWatcher', () => {
  test('notices message_stop (usage is the meter\'s: src/usage/meter.test.ts)', () => {
    const w = new NativeStreamWatcher();
    w.push({ type: 'message_start', message: { usage: { input_tokens: 12, output_tokens: 1 } } });
    w.push({ type: 'ping' });
    w.push({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 7 } });
    assert.equal(w.sawStop, false);
    w.push({ type: 'message_stop' });
    assert.equal(w.sawStop, true);
  });

  test('an event of a message before message_start is a problem; a ping, an error or a type it does not know is not', () => {
    const w = new NativeStreamWatcher();
    assert.equal(w.push({ type: 'ping' }), null);
    assert.equal(w.push({ type: 'some_later_event' }), null);
    assert.equal(w.push({ type: 'error', error: { type: 'overloaded_error', message: 'x' } }), null);
    assert.equal(w.push({ type: 'message_start', message: {} }), null);
    assert.equal(w.push({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }), null);
    for (const type of ['content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']) {
      assert.equal(new NativeStreamWatcher().push({ type }), `sent "${type}" before message_start`);
    }
  });
});

describe('estimateInputTokens', () => {
  test('about four characters a token over system, messages, tool traffic and tools, plus a flat cost per image', () => {
    const req = prepareMessages(
      {
        model: 'm',
        system: 'x'.repeat(40),
        tools: [{ name: 'abcd', input_schema: { type: 'object' } }],
        messages: [
          { role: 'user', content: 'y'.repeat(80) },
          { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'abcd', input: { q: 1 } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'z'.repeat(20) }, { type: 'image', source: { type: 'url', url: 'u' } }] },
        ],
      },
    ).req;
    const chars = 40 + 80 + (4 + JSON.stringify({ q: 1 }).length) + 20 + (4 + JSON.stringify({ input_schema: { type: 'object' } }).length);
    assert.equal(estimateInputTokens(req), Math.ceil(chars / 4) + IMAGE_TOKEN_ESTIMATE);
  });
});

describe('system messages inside `messages` (Claude Code 2.1, recorded requests)', () => {
  const recorded = (name: string): { headers: Record<string, string>; body: unknown } => {
    const raw: unknown = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../../../../test/fixtures/claude-code', name), 'utf8'));
    const r = z.object({ headers: z.record(z.string(), z.string()), body: z.unknown() }).parse(raw);
    return r;
  };

  for (const name of ['request.model-gpt-4.1.json', 'request.default-model.json']) {
    test(`${name}: accepted, translated in place, or folded into the user turn`, () => {
      const { body } = recorded(name);
      const prep = prepareMessages(body);
      assert.equal(prep.initiator, 'user', 'a trailing system entry is not a turn');
      const roles = prep.req.messages.map((m) => m.role);
      assert.deepEqual(roles, ['user', 'system']);

      // Translated: the system entry stays where Claude Code put it, as a chat `system` message.
      const chat = toChatRequest(parseOrThrow(translatableRequestSchema, body), 'gpt-4.1');
      const msgs = z.array(z.object({ role: z.string(), content: z.unknown() })).parse(chat.messages);
      assert.deepEqual(msgs.map((m) => m.role), ['system', 'user', 'system']);
      assert.match(String(msgs[2]?.content), /^# Environment\n/);

      // Folded (native path, upstream refuses the role): no system entry left, roles alternate, text kept.
      const folded = foldSystemMessages(prep.req.messages);
      assert.deepEqual(folded.map((m) => m.role), ['user']);
      const last = folded[0]?.content;
      assert.ok(Array.isArray(last));
      const lastBlock = last.at(-1);
      assert.equal(lastBlock?.type, 'text');
      assert.match(String(lastBlock?.text), /^<system>\n# Environment\n[\s\S]*\n<\/system>$/);
      assert.equal(last.length, (Array.isArray(prep.req.messages[0]?.content) ? prep.req.messages[0].content.length : 1) + 1);
    });
  }

  test('fold: a system entry goes to the start of the next user turn, else the end of the previous one', () => {
    const folded = foldSystemMessages([
      { role: 'system', content: 'first' },
      { role: 'user', content: 'u1' },
      { role: 'assistant', content: 'a1' },
      { role: 'system', content: [{ type: 'text', text: 'middle' }] },
      { role: 'user', content: 'u2' },
    ]);
    assert.deepEqual(folded, [
      { role: 'user', content: [{ type: 'text', text: '<system>\nfirst\n</system>' }, { type: 'text', text: 'u1' }] },
      { role: 'assistant', content: 'a1' },
      { role: 'user', content: [{ type: 'text', text: '<system>\nmiddle\n</system>' }, { type: 'text', text: 'u2' }] },
    ]);
    assert.deepEqual(foldSystemMessages([{ role: 'system', content: 'only' }]), [{ role: 'user', content: [{ type: 'text', text: '<system>\nonly\n</system>' }] }]);
  });
});
