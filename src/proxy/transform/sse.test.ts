import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SseParser, formatSse } from './sse.ts';

describe('SseParser', () => {
  test('joins events split across arbitrary chunk boundaries', () => {
    const p = new SseParser();
    const text = 'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n';
    const events = [];
    for (const ch of text) events.push(...p.push(ch));
    events.push(...p.end());
    assert.deepEqual(events.map((e) => e.data), ['{"a":1}', '{"b":2}', '[DONE]']);
  });

  test('handles CRLF, CR, comments, event names and multi-line data', () => {
    const p = new SseParser();
    const events = p.push(': keep-alive\r\nevent: message_start\r\ndata: line1\r\ndata: line2\r\n\r\ndata:x\r\r\n');
    assert.deepEqual(events, [
      { event: 'message_start', data: 'line1\nline2', id: undefined },
      { event: undefined, data: 'x', id: undefined },
    ]);
  });

  test('a CR at the end of a chunk waits for a possible LF', () => {
    const p = new SseParser();
    assert.deepEqual(p.push('data: a\r'), []);
    assert.deepEqual(p.push('\n\r\n').map((e) => e.data), ['a']);
  });

  test('end() flushes a final event that lacks its blank line', () => {
    const p = new SseParser();
    assert.deepEqual(p.push('data: tail'), []);
    assert.deepEqual(p.end().map((e) => e.data), ['tail']);
  });

  test('formatSse writes one data line per line and an optional event name', () => {
    assert.equal(formatSse({ a: 1 }), 'data: {"a":1}\n\n');
    assert.equal(formatSse('x\ny', 'ping'), 'event: ping\ndata: x\ndata: y\n\n');
  });
});
