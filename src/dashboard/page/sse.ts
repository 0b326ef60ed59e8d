/** Server-sent events read from a fetch body (EventSource cannot send the api_key's Authorization on every browser). */

export interface SseEvent {
  event: string;
  data: string;
}

/** Calls `onEvent` for each event until the stream ends; resolves then, rejects on a network error or abort. */
export async function readSse(body: ReadableStream<Uint8Array>, onEvent: (e: SseEvent) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
    let end = buf.indexOf('\n\n');
    while (end >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const v = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = v;
        else if (field === 'data') data.push(v);
      }
      if (data.length > 0) onEvent({ event, data: data.join('\n') });
      end = buf.indexOf('\n\n');
    }
  }
}
