/**
 * Incremental Server-Sent Events parsing and writing (WHATWG EventSource rules:
 * events end at a blank line; `data:` lines join with "\n"; `:` lines are comments;
 * CR, LF and CRLF all end a line). Pure: feed text, get whole events back.
 */

export interface SseEvent {
  event: string | undefined;
  data: string;
  id: string | undefined;
}

export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event: string | undefined;
  private id: string | undefined;

  /** Feed a decoded text chunk; returns the events it completed. */
  push(text: string): SseEvent[] {
    this.buffer += text;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buffer);
      if (!m) break;
      // A lone CR at the very end may be the first half of CRLF: wait for more.
      if (m[0] === '\r' && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    return out;
  }

  /** End of stream: a final event without its blank line still counts. */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.buffer.length > 0) {
      const ev = this.line(this.buffer);
      this.buffer = '';
      if (ev) out.push(ev);
    }
    const last = this.dispatch();
    if (last) out.push(last);
    return out;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id') this.id = value;
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    if (this.data.length === 0 && this.event === undefined) return undefined;
    const ev: SseEvent = { event: this.event, data: this.data.join('\n'), id: this.id };
    this.data = [];
    this.event = undefined;
    return ev;
  }
}

export function formatSse(data: unknown, event?: string): string {
  const body = typeof data === 'string' ? data : JSON.stringify(data);
  // JSON.stringify never emits a raw newline: split only text that has one.
  const lines = body.includes('\n') ? body.split('\n').map((l) => `data: ${l}`).join('\n') : `data: ${body}`;
  return `${event ? `event: ${event}\n` : ''}${lines}\n\n`;
}
