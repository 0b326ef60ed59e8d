import { z } from 'zod';
import { newMessageId, newToolUseId, stopReasonOf, toAnthropicUsage, toolCallSchema, type AnthropicUsage } from './response.ts';

/** Chat completion chunks (Copilot /chat/completions) as Anthropic's event stream. Pure. */

export interface AnthropicEvent {
  event: string;
  data: Record<string, unknown>;
}

const chunkSchema = z
  .object({
    choices: z
      .array(
        z
          .object({
            index: z.number().int().nullish(),
            delta: z.object({ content: z.string().nullish(), tool_calls: z.array(toolCallSchema).nullish() }).passthrough().nullish(),
            finish_reason: z.string().nullish(),
          })
          .passthrough(),
      )
      .nullish(),
    usage: z.unknown().optional(),
  })
  .passthrough();

/**
 * Turns Copilot's chat-completion chunks into Anthropic's stream:
 * `message_start`, then per block `content_block_start` / `content_block_delta`
 * (`text_delta` or `input_json_delta`) / `content_block_stop`, then
 * `message_delta` (stop_reason + usage) and `message_stop` from finish().
 * Usage arrives last (finish chunk or a trailing empty-choices chunk), which
 * is why the closing events wait for finish().
 */
export class AnthropicStreamTranslator {
  private started = false;
  private nextIndex = 0;
  private open: { kind: 'text' | 'tool'; index: number } | undefined;
  private readonly toolBlocks = new Map<string, number>();
  private finishReason: string | null | undefined;
  private rawUsage: unknown;
  private readonly id: string;
  /** True once a chunk carried a finish_reason. */
  sawFinish = false;

  constructor(private readonly opts: { model: string; newId?: () => string; newToolId?: () => string }) {
    this.id = (opts.newId ?? newMessageId)();
  }

  get usage(): AnthropicUsage {
    return toAnthropicUsage(this.rawUsage);
  }

  /** One upstream chunk (JSON-parsed) in; zero or more Anthropic events out. */
  push(raw: unknown): AnthropicEvent[] {
    const parsed = chunkSchema.safeParse(raw);
    if (!parsed.success) return [];
    const out: AnthropicEvent[] = [];
    this.start(out);
    if (parsed.data.usage != null) this.rawUsage = parsed.data.usage; // may sit in a chunk with empty choices
    for (const choice of parsed.data.choices ?? []) {
      const delta = choice.delta;
      if (delta?.content) {
        if (this.open?.kind !== 'text') {
          this.close(out);
          this.open = { kind: 'text', index: this.nextIndex++ };
          out.push({ event: 'content_block_start', data: { type: 'content_block_start', index: this.open.index, content_block: { type: 'text', text: '' } } });
        }
        out.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index: this.open.index, delta: { type: 'text_delta', text: delta.content } } });
      }
      for (const tc of delta?.tool_calls ?? []) {
        const key = `${choice.index ?? 0}:${tc.index ?? 0}`;
        let index = this.toolBlocks.get(key);
        if (index === undefined) {
          this.close(out);
          index = this.nextIndex++;
          this.toolBlocks.set(key, index);
          this.open = { kind: 'tool', index };
          const id = tc.id || (this.opts.newToolId ?? newToolUseId)();
          out.push({
            event: 'content_block_start',
            data: { type: 'content_block_start', index, content_block: { type: 'tool_use', id, name: tc.function?.name ?? '', input: {} } },
          });
        }
        const args = tc.function?.arguments;
        if (args) out.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: args } } });
      }
      if (choice.finish_reason) {
        this.finishReason = choice.finish_reason;
        this.sawFinish = true;
      }
    }
    return out;
  }

  /** Upstream ended: close the open block, then message_delta and message_stop. */
  finish(): AnthropicEvent[] {
    const out: AnthropicEvent[] = [];
    this.start(out);
    this.close(out);
    const usage = this.usage;
    out.push({
      event: 'message_delta',
      data: {
        type: 'message_delta',
        delta: { stop_reason: stopReasonOf(this.finishReason, this.toolBlocks.size > 0), stop_sequence: null },
        usage: { input_tokens: usage.input_tokens, output_tokens: usage.output_tokens, cache_read_input_tokens: usage.cache_read_input_tokens },
      },
    });
    out.push({ event: 'message_stop', data: { type: 'message_stop' } });
    return out;
  }

  private start(out: AnthropicEvent[]): void {
    if (this.started) return;
    this.started = true;
    out.push({
      event: 'message_start',
      data: {
        type: 'message_start',
        message: {
          id: this.id,
          type: 'message',
          role: 'assistant',
          model: this.opts.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          // Copilot reports usage only at the end; message_delta carries the real numbers.
          usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
        },
      },
    });
  }

  private close(out: AnthropicEvent[]): void {
    if (!this.open) return;
    out.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index: this.open.index } });
    this.open = undefined;
  }
}

