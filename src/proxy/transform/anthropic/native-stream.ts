import * as z from 'zod';

const nativeEventSchema = z.object({ type: z.string() }).passthrough();

/** Watches a native (Copilot /v1/messages) Anthropic stream as it is relayed: whether it really ended. Its usage is read by the relay's meter. Pure. */
export class NativeStreamWatcher {
  sawStop = false;
  sawError = false;

  push(data: unknown): void {
    const p = nativeEventSchema.safeParse(data);
    if (!p.success) return;
    if (p.data.type === 'message_stop') this.sawStop = true;
    else if (p.data.type === 'error') this.sawError = true;
  }
}
