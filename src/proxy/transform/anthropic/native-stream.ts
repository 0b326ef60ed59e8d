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
    // Anthropic's stream opens with message_start (pings and errors may come first): a client
    // has no message to put anything else in.
    else if (!this.started && type !== 'ping' && type !== 'error') return `sent ${JSON.stringify(type.slice(0, 40))} before message_start`;
    return null;
  }
}
