import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ChatChunkNormalizer } from './chat.ts';
import { SseParser } from './sse.ts';

/**
 * The chat stream transforms against Copilot traffic recorded by others (see
 * test/fixtures/copilot/README.md for where each file comes from), not against
 * our fake: these pin the quirks as Copilot really sends them.
 */

const FIXTURES = path.resolve(import.meta.dirname, '../../../test/fixtures/copilot');

function run(file: string, clientWantsUsage: boolean, splitAt = 7): Record<string, unknown>[] {
  const text = fs.readFileSync(path.join(FIXTURES, file), 'utf8');
  const parser = new SseParser();
  const norm = new ChatChunkNormalizer({ clientWantsUsage, requestModel: 'requested-model', now: () => 1_700_000_000_000 });
  const out: Record<string, unknown>[] = [];
  const feed = (events: ReturnType<SseParser['push']>) => {
    for (const ev of events) if (ev.data !== '[DONE]') out.push(...norm.push(JSON.parse(ev.data)));
  };
  // Feed in odd-sized pieces, as a socket would deliver it.
  for (let i = 0; i < text.length; i += splitAt) feed(parser.push(text.slice(i, i + splitAt)));
  feed(parser.end());
  out.push(...norm.finish());
  return out;
}

/** The same feed through pushSse, each SSE text read back as the client would. */
function runSse(file: string, clientWantsUsage: boolean): unknown[] {
  const text = fs.readFileSync(path.join(FIXTURES, file), 'utf8');
  const norm = new ChatChunkNormalizer({ clientWantsUsage, requestModel: 'requested-model', now: () => 1_700_000_000_000 });
  const out: unknown[] = [];
  const read = (sse: string) => {
    const events = new SseParser().push(sse);
    assert.equal(events.length, 1, 'one SSE event per chunk');
    out.push(JSON.parse(events[0]?.data ?? ''));
  };
  for (const ev of [...new SseParser().push(text), ...new SseParser().end()]) if (ev.data !== '[DONE]') norm.pushSse(JSON.parse(ev.data), ev.data).forEach(read);
  out.push(...norm.finish());
  return out;
}

const choicesOf = (c: Record<string, unknown>): Array<Record<string, unknown>> => (Array.isArray(c.choices) ? c.choices : []);
const deltaOf = (c: Record<string, unknown>): Record<string, unknown> => {
  const d = choicesOf(c)[0]?.delta;
  return typeof d === 'object' && d !== null ? { ...d } : {};
};

describe('chat stream transforms on recorded Copilot traffic', () => {
  test('VS Code Copilot Chat recording (gpt-4o, 2024): quirk chunk dropped, id/model/object stamped, text whole', () => {
    const out = run('chat-stream-gpt4o-plain-text.sse', false);
    assert.equal(out.length, 15, 'the empty-choices first chunk is dropped; 15 content/finish chunks remain');
    for (const c of out) {
      assert.equal(c.id, 'chatcmpl-9XTNuRVy7pKFgXL5VsZKe5wfpiWQU', 'Copilot\'s own id kept on every chunk');
      assert.equal(c.object, 'chat.completion.chunk', 'object added (Copilot sends none)');
      assert.equal(c.model, 'requested-model', 'model added (Copilot sends none)');
      assert.equal(c.created, 1717764806);
    }
    const text = out.map((c) => deltaOf(c).content).filter((t) => typeof t === 'string').join('');
    assert.equal(text, 'Hello! How can I assist you with your programming needs today?');
    assert.equal(choicesOf(out.at(-1) ?? {})[0]?.finish_reason, 'stop');
    assert.ok(!out.some((c) => 'usage' in c), 'no usage chunk invented when Copilot sent none');
  });

  test('OpenCode recording (gemini-3-pro-preview via Copilot, 2025): reasoning offered as reasoning_content, tool call kept, missing finish_reason supplied', () => {
    const out = run('chat-stream-gemini3-reasoning-tool.sse', true, 13);
    const reasoning = out.map((c) => deltaOf(c).reasoning_content).filter((t) => typeof t === 'string');
    assert.equal(reasoning.length, 2);
    assert.match(reasoning[0] ?? '', /^\*\*Understanding Dayzee's Purpose\*\*/);
    assert.deepEqual(
      out.map((c) => deltaOf(c).reasoning_text).filter((t) => typeof t === 'string'),
      reasoning,
      "Copilot's reasoning_text is kept beside it",
    );
    const call = out.map((c) => deltaOf(c).tool_calls).find(Array.isArray);
    assert.ok(Array.isArray(call));
    assert.deepEqual(call[0], { function: { arguments: '{"filePath":"/README.md"}', name: 'read_file' }, id: 'call_abc123', index: 0, type: 'function' });
    for (const c of out) assert.equal(c.model, 'gemini-3-pro-preview', "Copilot's model name, once it sends one");
    // Copilot ended with [DONE] and no finish_reason: the client gets one, tool_calls since a tool was called.
    const finish = out.find((c) => choicesOf(c).some((ch) => ch.finish_reason));
    assert.equal(choicesOf(finish ?? {})[0]?.finish_reason, 'tool_calls');
    // Usage came on every chunk; the client that asked gets it once, last, the OpenAI way.
    const usageChunks = out.filter((c) => 'usage' in c);
    assert.equal(usageChunks.length, 1);
    assert.equal(usageChunks[0], out.at(-1));
    assert.deepEqual(choicesOf(usageChunks[0] ?? {}), []);
  });

  test('pushSse sends what push does, chunk for chunk, on every recording (as-sent text or re-serialised)', () => {
    for (const file of ['chat-stream-gpt4o-plain-text.sse', 'chat-stream-gemini3-reasoning-tool.sse'])
      for (const usage of [false, true]) assert.deepEqual(runSse(file, usage), run(file, usage), `${file}, include_usage ${usage}`);
  });
});
