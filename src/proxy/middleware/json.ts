import { isUtf8 } from 'node:buffer';
import express, { type RequestHandler } from 'express';
import { InvalidRequestError } from '../../errors.ts';

/** Deeper JSON than this is refused before parsing: JSON.stringify on the way upstream recurses and would overflow the stack. */
export const MAX_JSON_DEPTH = 128;

/**
 * More objects and arrays than this in one body are refused before parsing (#20): parsing,
 * validating and re-serialising cost the proxy's one thread per object, about 0.3 ms per
 * thousand, so this keeps a body's work on the thread to about 20 ms (4.87 MB of 150,000
 * tiny messages held it 65-170 ms). 10,000 messages with a content block each use 30,000.
 */
export const MAX_JSON_CONTAINERS = 50_000;

/** An error body-parser passes on as is (its `type` is mapped in errors.ts). */
export class BodyRejectedError extends Error {
  readonly type: string;
  constructor(type: 'encoding.invalid' | 'nesting.too.deep' | 'too.many.values', message: string) {
    super(message);
    this.type = type;
  }
}

/**
 * Pure: the deepest nesting of arrays/objects in a JSON text and how many
 * there are (brackets inside strings ignored), stopping once past either
 * limit. Strings are skipped with the native `indexOf` to their closing
 * quote, so a 5 MB base64 image costs one memchr, not a JS loop over its bytes.
 */
export function jsonStructure(buf: Uint8Array, limits: { depth?: number; containers?: number } = {}): { depth: number; containers: number } {
  const bytes = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const maxDepth = limits.depth ?? Infinity;
  const maxContainers = limits.containers ?? Infinity;
  let depth = 0;
  let max = 0;
  let containers = 0;
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const c = bytes[i];
    if (c === 0x22) {
      // Find the quote that ends this string: one not preceded by an odd run of backslashes.
      let j = i;
      for (;;) {
        j = bytes.indexOf(0x22, j + 1);
        if (j < 0) return { depth: max, containers }; // unterminated: the parser reports it
        let k = j - 1;
        while (k > i && bytes[k] === 0x5c) k--;
        if ((j - 1 - k) % 2 === 0) break;
      }
      i = j;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      containers++;
      if (containers > maxContainers) return { depth: max, containers };
      if (depth > max) {
        max = depth;
        if (max > maxDepth) return { depth: max, containers };
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return { depth: max, containers };
}

/** Pure: the deepest nesting of arrays/objects in a JSON text, stopping once past `limit`. */
export function jsonDepth(buf: Uint8Array, limit = Infinity): number {
  return jsonStructure(buf, { depth: limit }).depth;
}

/**
 * The JSON body parser: size limit, strict (object or array at the top), UTF-8
 * only (invalid bytes are refused, not silently replaced) and bounded nesting.
 */
export function jsonBody(maxBytes: number): RequestHandler {
  return express.json({
    limit: maxBytes,
    type: ['application/json', '+json'],
    strict: true,
    verify: (_req, _res, buf) => {
      if (!isUtf8(buf)) throw new BodyRejectedError('encoding.invalid', 'Request body is not valid UTF-8');
      const shape = jsonStructure(buf, { depth: MAX_JSON_DEPTH, containers: MAX_JSON_CONTAINERS });
      if (shape.depth > MAX_JSON_DEPTH) throw new BodyRejectedError('nesting.too.deep', `Request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
      if (shape.containers > MAX_JSON_CONTAINERS)
        throw new BodyRejectedError('too.many.values', `Request body holds more than ${MAX_JSON_CONTAINERS.toLocaleString('en-US')} JSON objects and arrays`);
    },
  });
}

/**
 * POST routes take JSON only. A body with another content type (a web page's
 * `text/plain` or form POST, or `curl -d` without a header) is refused, never guessed.
 */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  if (!req.is(['application/json', '+json'])) {
    throw new InvalidRequestError('Content-Type must be application/json', { code: 'unsupported_media_type', status: 415 });
  }
  if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
    throw new InvalidRequestError('Request body must be a JSON object', { code: 'invalid_body' });
  }
  next();
};
