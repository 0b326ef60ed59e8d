import type { RequestHandler } from '../http.ts';
import type { Logger } from '../../log.ts';
import { logFields } from './request-log.ts';

const MAX_LOGGED_CHARS = 4096;

/** Pure: a request body as one log-safe line — data URLs elided, long text cut. Tokens are cut by the logger itself. */
export function bodyForLog(body: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'string' && v.startsWith('data:') ? `${v.slice(0, v.indexOf(',') + 1)}…(${v.length} chars)` : v));
  } catch {
    return '(unserialisable body)';
  }
  if (text === undefined) return '(no body)';
  return text.length > MAX_LOGGED_CHARS ? `${text.slice(0, MAX_LOGGED_CHARS)}…(${text.length} chars)` : text;
}

/**
 * Only at log_level debug: each JSON request body, so a user can see what a
 * client really sent. Off at every other level (bodies are the user's data).
 */
export function debugBodies(log: Logger): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'POST' && typeof req.body === 'object' && req.body !== null) {
      log.debug(`body id=${logFields(res).requestId} ${req.path} ${bodyForLog(req.body)}`);
    }
    next();
  };
}
