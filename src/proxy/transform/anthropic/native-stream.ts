import * as z from 'zod';

const nativeEventSchema = z.object({ type: z.string() }).passthrough();

/** Watches a native (Copilot /v1/messages) Anthropic stream as it is relayed: whether it really ended. Its usage is read by the relay's meter. Pure. */
export class NativeStreamWatcher {
  sawStop = false;
  sawError = false;
  private started = false;

  /** One event in; what is wrong with the stream so far (an event before `message_start`), else null. */
  push(data: unknown): string | null {
    const p = nativeEventSchema.safeParse(data);
    if (!p.success) return null;
    const { type } = p.data;
    if (type === 'message_stop') this.sawStop = true;
    else if (type === 'error') this.sawError = true;
    if (type === 'message_start') this.started = true;
    // Anthropic's stream opens with message_start: a client has no message to put a content
    // block or a stop in before it. Pings, errors and event types added later may come first.
    else if (!this.started && IN_A_MESSAGE.has(type)) return `sent ${JSON.stringify(type)} before message_start`;
    return null;
  }
}

/** The events that belong to a message already started. */
const IN_A_MESSAGE: ReadonlySet<string> = new Set(['content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
