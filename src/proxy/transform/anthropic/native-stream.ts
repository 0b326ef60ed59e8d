import { z } from 'zod';
/** Bookkeeping over a native (Copilot /v1/messages) Anthropic stream. Pure. */


const nativeEventSchema = z
  .object({
    type: z.string(),
    message: z.object({ usage: z.object({ input_tokens: z.number().nullish(), output_tokens: z.number().nullish() }).passthrough().nullish() }).passthrough().optional(),
    usage: z.object({ input_tokens: z.number().nullish(), output_tokens: z.number().nullish() }).passthrough().nullish(),
  })
  .passthrough();

/** Watches a native Anthropic stream as it is relayed: usage for the request log, and whether it really ended. */
export class NativeStreamWatcher {
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  sawStop = false;
  sawError = false;

  push(data: unknown): void {
    const p = nativeEventSchema.safeParse(data);
    if (!p.success) return;
    const e = p.data;
    if (e.type === 'message_start') {
      this.inputTokens = e.message?.usage?.input_tokens ?? this.inputTokens;
      this.outputTokens = e.message?.usage?.output_tokens ?? this.outputTokens;
    } else if (e.type === 'message_delta') {
      this.inputTokens = e.usage?.input_tokens ?? this.inputTokens;
      this.outputTokens = e.usage?.output_tokens ?? this.outputTokens;
    } else if (e.type === 'message_stop') this.sawStop = true;
    else if (e.type === 'error') this.sawError = true;
  }
}

