// Anthropic's rule for tool results, as Copilot enforces it for Claude models (it hands the
// conversation to Anthropic, whose 400 comes back). Pure: returns the error message or undefined.
//
// Wording recorded from the real API:
// - results missing: anthropics/claude-code#3512 ("messages.5: `tool_use` ids were found without
//   `tool_result` blocks immediately after: toolu_…. Each `tool_use` block must have a
//   corresponding `tool_result` block in the next message.")
// - results present but not first in the user turn: anthropics/claude-code#37 ("messages.224: Did
//   not find 1 `tool_result` block(s) at the beginning of this message. Messages following
//   `tool_use` blocks must begin with a matching number of `tool_result` blocks.")
// Copilot's chat endpoint relays the same text in its own envelope (`code: invalid_request_body`,
// microsoft/vscode#267840).

import { arr, isRecord, str } from './guards.ts';

function blocksOf(m: unknown): unknown[] {
  const c = isRecord(m) ? m['content'] : undefined;
  return Array.isArray(c) ? c : [];
}

/** /v1/messages: every assistant `tool_use` needs its `tool_result` at the start of the next (user) message. */
export function toolResultOrderError(messages: readonly unknown[]): string | undefined {
  const turns = messages.map((m, i) => ({ m, i })).filter(({ m }) => str(m, 'role') !== 'system');
  for (const [k, { m }] of turns.entries()) {
    if (str(m, 'role') !== 'assistant') continue;
    const ids = blocksOf(m).flatMap((b) => (str(b, 'type') === 'tool_use' ? [str(b, 'id') ?? ''] : []));
    const next = turns[k + 1];
    if (ids.length === 0 || next === undefined) continue; // a last assistant turn is a prefill
    const blocks = blocksOf(next.m);
    const firstOther = blocks.findIndex((b) => str(b, 'type') !== 'tool_result');
    const leading = new Set((firstOther < 0 ? blocks : blocks.slice(0, firstOther)).map((b) => str(b, 'tool_use_id')));
    const missing = ids.filter((id) => !leading.has(id));
    if (missing.length === 0) continue;
    const later = blocks.some((b) => str(b, 'type') === 'tool_result');
    if (later) {
      return `messages.${next.i}: Did not find ${missing.length} \`tool_result\` block(s) at the beginning of this message. Messages following \`tool_use\` blocks must begin with a matching number of \`tool_result\` blocks.`;
    }
    return `messages.${next.i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
  }
  return undefined;
}

/** /chat/completions for a Claude model: an assistant's tool_calls must be answered by `tool` messages before anything else but system. */
export function chatToolResultError(model: string, messages: readonly unknown[]): string | undefined {
  if (!model.toLowerCase().startsWith('claude')) return undefined;
  for (const [i, m] of messages.entries()) {
    if (str(m, 'role') !== 'assistant') continue;
    const calls = isRecord(m) ? arr(m, 'tool_calls') : undefined;
    const ids = (calls ?? []).map((c) => str(c, 'id') ?? '');
    if (ids.length === 0) continue;
    const answered = new Set<string>();
    let j = i + 1;
    for (; j < messages.length; j++) {
      const role = str(messages[j], 'role');
      if (role === 'tool') answered.add(str(messages[j], 'tool_call_id') ?? '');
      else if (role !== 'system' && role !== 'developer') break;
    }
    if (j >= messages.length && answered.size === 0) continue; // a last assistant turn
    const missing = ids.filter((id) => !answered.has(id));
    if (missing.length > 0) {
      return `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`;
    }
  }
  return undefined;
}
