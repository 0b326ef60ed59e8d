import { blockType, type MessagesRequest } from './request.ts';

/** `/v1/messages/count_tokens`: an estimate, with no upstream call. Pure. */

/** A typical image costs Anthropic (w·h)/750 tokens, capped near 1,600 by its resizing: the cap is our estimate. */
export const IMAGE_TOKEN_ESTIMATE = 1600;

function blockChars(b: unknown, images: { n: number }): number {
  if (typeof b === 'string') return b.length;
  if (typeof b !== 'object' || b === null) return 0;
  const type = blockType(b);
  if (type === 'image') {
    images.n += 1;
    return 0;
  }
  if (type === 'text' && 'text' in b && typeof b.text === 'string') return b.text.length;
  if (type === 'thinking' && 'thinking' in b && typeof b.thinking === 'string') return b.thinking.length;
  if (type === 'tool_use' && 'input' in b) return ('name' in b && typeof b.name === 'string' ? b.name.length : 0) + JSON.stringify(b.input ?? {}).length;
  if (type === 'tool_result' && 'content' in b) {
    const c = b.content;
    if (typeof c === 'string') return c.length;
    if (Array.isArray(c)) return c.reduce((n: number, x: unknown) => n + blockChars(x, images), 0);
    return 0;
  }
  return JSON.stringify(b).length;
}

/**
 * An estimate, not Anthropic's tokenizer: about four characters per token over
 * every text the model sees (system, messages, tool calls and results, tool
 * definitions), plus a flat IMAGE_TOKEN_ESTIMATE per image.
 */
export function estimateInputTokens(req: MessagesRequest): number {
  const images = { n: 0 };
  let chars = 0;
  if (typeof req.system === 'string') chars += req.system.length;
  else for (const b of req.system ?? []) chars += blockChars(b, images);
  for (const m of req.messages) {
    chars += typeof m.content === 'string' ? m.content.length : m.content.reduce((n, b) => n + blockChars(b, images), 0);
  }
  for (const t of req.tools ?? []) {
    const { name, ...rest } = t;
    chars += name.length + JSON.stringify(rest).length;
  }
  return Math.ceil(chars / 4) + images.n * IMAGE_TOKEN_ESTIMATE;
}

