import * as z from 'zod';
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
            delta: z
              .object({
                content: z.string().nullish(),
                tool_calls: z.array(toolCallSchema).nullish(),
                reasoning_text: z.string().nullish(),
                reasoning_opaque: z.string().nullish(),
              })
              .passthrough()
              .nullish(),
            finish_reason: z.string().nullish(),
          })
          .passthrough(),
      )
      .nullish(),
    usage: z.unknown().optional(),
  })
  .passthrough();

type BlockKind = 'text' | 'thinking' | 'tool';
type Delta = Record<string, unknown> & { type: string };

/** A block held back until finish(): its start, then its deltas. */
interface PendingBlock {
  kind: BlockKind;
  key: string | undefined;
  contentBlock: Record<string, unknown>;
  deltas: Delta[];
}

/** Adjacent deltas of one kind joined (`text_delta`+`text_delta` -> one), for a held-back block. */
function coalesce(deltas: readonly Delta[]): Delta[] {
  const field: Record<string, string> = { text_delta: 'text', input_json_delta: 'partial_json', thinking_delta: 'thinking' };
  const out: Delta[] = [];
  for (const d of deltas) {
    const f = Object.hasOwn(field, d.type) ? field[d.type] : undefined;
    const prev = out.at(-1);
    if (f !== undefined && prev?.type === d.type && typeof prev[f] === 'string' && typeof d[f] === 'string') out[out.length - 1] = { ...prev, [f]: prev[f] + d[f] };
    else out.push(d);
  }
  return out;
}

/**
 * Turns Copilot's chat-completion chunks into Anthropic's stream:
 * `message_start`, then per block `content_block_start` / `content_block_delta`
 * (`thinking_delta` + `signature_delta`, `text_delta` or `input_json_delta`) /
 * `content_block_stop`, then `message_delta` (stop_reason + usage) and
 * `message_stop` from finish(). Usage arrives last (finish chunk or a trailing
 * empty-choices chunk), which is why the closing events wait for finish().
 *
 * One block is open at a time, as in Anthropic's own streams, and every delta
 * of a block comes before its stop. Copilot may interleave parallel tool calls
 * (arguments for call 0, then 1, then 0 again), so once a tool block is open it
 * stays open until finish(), and anything else that arrives meanwhile (other
 * tool calls, text) is held back and sent, in order, after it.
 *
 * Claude's reasoning comes as `reasoning_text` deltas and one `reasoning_opaque`
 * (its signature): a `thinking` block, the signature as `signature_delta`.
 */
export class AnthropicStreamTranslator {
  private started = false;
  private nextIndex = 0;
  private live: { kind: BlockKind; key: string | undefined; index: number } | undefined;
  private readonly pending: PendingBlock[] = [];
  private readonly toolKeys = new Set<string>();
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
      // Reasoning first: Copilot may send the signature in the same delta as the first tool call.
      if (delta?.reasoning_text) this.add(out, 'thinking', undefined, { type: 'thinking', thinking: '' }, { type: 'thinking_delta', thinking: delta.reasoning_text });
      if (delta?.reasoning_opaque) this.sign(out, delta.reasoning_opaque);
      if (delta?.content) this.add(out, 'text', undefined, { type: 'text', text: '' }, { type: 'text_delta', text: delta.content });
      for (const tc of delta?.tool_calls ?? []) {
        const key = `${choice.index ?? 0}:${tc.index ?? 0}`;
        const isNew = !this.toolKeys.has(key);
        this.toolKeys.add(key);
        const contentBlock = isNew ? { type: 'tool_use', id: tc.id || (this.opts.newToolId ?? newToolUseId)(), name: tc.function?.name ?? '', input: {} } : {};
        const args = tc.function?.arguments;
        this.add(out, 'tool', key, contentBlock, args ? { type: 'input_json_delta', partial_json: args } : undefined);
      }
      if (choice.finish_reason) {
        this.finishReason = choice.finish_reason;
        this.sawFinish = true;
      }
    }
    return out;
  }

  /** Upstream ended: close the open block, send the held-back ones, then message_delta and message_stop. */
  finish(): AnthropicEvent[] {
    const out: AnthropicEvent[] = [];
    this.start(out);
    this.close(out);
    for (const b of this.pending.splice(0)) {
      const index = this.nextIndex++;
      out.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: b.contentBlock } });
      for (const d of coalesce(b.deltas)) out.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: d } });
      out.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
    }
    const usage = this.usage;
    out.push({
      event: 'message_delta',
      data: {
        type: 'message_delta',
        delta: { stop_reason: stopReasonOf(this.finishReason, this.toolKeys.size > 0), stop_sequence: null },
        usage: { input_tokens: usage.input_tokens, output_tokens: usage.output_tokens, cache_read_input_tokens: usage.cache_read_input_tokens },
      },
    });
    out.push({ event: 'message_stop', data: { type: 'message_stop' } });
    return out;
  }

  /**
   * A delta for the block (kind, key): sent live when that block is the open one, or when the
   * open one is not a tool call (which is then closed and this block opened); held back while
   * a tool block is open.
   */
  private add(out: AnthropicEvent[], kind: BlockKind, key: string | undefined, contentBlock: Record<string, unknown>, delta: Delta | undefined): void {
    const live = this.live;
    if (live && live.kind === kind && live.key === key) {
      if (delta) out.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index: live.index, delta } });
      return;
    }
    if (live?.kind === 'tool') {
      const last = this.pending.at(-1);
      const held = kind === 'tool' ? this.pending.find((b) => b.kind === 'tool' && b.key === key) : last?.kind === kind ? last : undefined;
      if (held) {
        if (delta) held.deltas.push(delta);
      } else this.pending.push({ kind, key, contentBlock, deltas: delta ? [delta] : [] });
      return;
    }
    this.close(out);
    const index = this.nextIndex++;
    this.live = { kind, key, index };
    out.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: contentBlock } });
    if (delta) out.push({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta } });
  }

  /** Claude's reasoning signature (`reasoning_opaque`): ends its thinking block (one without text when none came). */
  private sign(out: AnthropicEvent[], signature: string): void {
    this.add(out, 'thinking', undefined, { type: 'thinking', thinking: '' }, { type: 'signature_delta', signature });
    if (this.live?.kind === 'thinking') this.close(out); // a signature is a thinking block's last delta
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
    if (!this.live) return;
    out.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index: this.live.index } });
    this.live = undefined;
  }
}
