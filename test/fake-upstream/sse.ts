// Server-sent-events framing used by the fake (one string per event).

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
};

/** `data: {json}\n\n` (Chat Completions style: no event name). */
export function sseData(payload: unknown): string {
  return `data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`;
}

/** `event: name\ndata: {json}\n\n` (Responses and Anthropic Messages style). */
export function sseEvent(name: string, payload: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';
export const SSE_GARBAGE = 'data: {not json\n\n';
