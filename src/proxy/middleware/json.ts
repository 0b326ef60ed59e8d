import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import zlib from 'node:zlib';
import type { RequestHandler } from 'express';
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
  constructor(
    type: 'encoding.invalid' | 'nesting.too.deep' | 'too.many.values' | 'entity.too.large' | 'entity.parse.failed' | 'charset.unsupported' | 'encoding.unsupported' | 'request.aborted',
    message: string,
  ) {
    super(message);
    this.type = type;
  }
}

/**
 * The nesting depth and the number of objects and arrays of a JSON text fed
 * in pieces as it arrives (brackets inside strings ignored; an escape or a
 * string may span pieces). Stops counting once past either limit. Strings are
 * skipped with the native `indexOf` to their closing quote, so a 5 MB base64
 * image costs one memchr, not a JS loop over its bytes.
 */
export class JsonStructureScanner {
  depth = 0;
  maxDepth = 0;
  containers = 0;
  private inString = false;
  /** Inside a string, the previous byte was an unescaped backslash. */
  private escaped = false;
  private readonly limits: { depth: number; containers: number };

  constructor(limits: { depth?: number; containers?: number } = {}) {
    this.limits = { depth: limits.depth ?? Infinity, containers: limits.containers ?? Infinity };
  }

  /** Past a limit: nothing more is counted. */
  get exceeded(): boolean {
    return this.maxDepth > this.limits.depth || this.containers > this.limits.containers;
  }

  push(buf: Uint8Array): void {
    const bytes = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    const n = bytes.length;
    let i = 0;
    while (i < n && !this.exceeded) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          i++;
          continue;
        }
        const q = bytes.indexOf(0x22, i);
        const end = q < 0 ? n : q;
        // The backslashes just before the quote (or the piece's end) decide whether it is escaped.
        let k = end - 1;
        while (k >= i && bytes[k] === 0x5c) k--;
        const odd = (end - 1 - k) % 2 === 1;
        if (q < 0) {
          this.escaped = odd;
          return;
        }
        if (!odd) this.inString = false;
        i = q + 1;
        continue;
      }
      const c = bytes[i];
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) {
        this.depth++;
        this.containers++;
        if (this.depth > this.maxDepth) this.maxDepth = this.depth;
      } else if (c === 0x7d || c === 0x5d) this.depth--;
      i++;
    }
  }
}

/** Pure: the deepest nesting of arrays/objects in a JSON text and how many there are, stopping once past either limit. */
export function jsonStructure(buf: Uint8Array, limits: { depth?: number; containers?: number } = {}): { depth: number; containers: number } {
  const s = new JsonStructureScanner(limits);
  s.push(buf);
  return { depth: s.maxDepth, containers: s.containers };
}

/** Pure: the deepest nesting of arrays/objects in a JSON text, stopping once past `limit`. */
export function jsonDepth(buf: Uint8Array, limit = Infinity): number {
  return jsonStructure(buf, { depth: limit }).depth;
}

const DECOMPRESS: ReadonlyMap<string, () => Transform> = new Map([
  ['gzip', () => zlib.createGunzip()],
  ['x-gzip', () => zlib.createGunzip()],
  ['deflate', () => zlib.createInflate()],
  ['br', () => zlib.createBrotliDecompress()],
]);

/** Pure: does this request carry a body (a length, or chunked)? As body-parser judges it. */
function hasBody(headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && /^\d+$/.test(headers['content-length']));
}

/**
 * Reads one JSON body in one pass as it arrives (#22, #20): the size limit
 * (declared and decompressed), UTF-8 (a fatal decoder: invalid bytes are
 * refused, never replaced), the nesting depth and the number of objects and
 * arrays are all checked piece by piece, so a hostile body is refused as soon
 * as it crosses a bound and the thread is never held for a whole body at once.
 * Only a body within every bound is parsed.
 */
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes) {
      req.resume();
      reject(new BodyRejectedError('entity.too.large', 'Request body is too large'));
      return;
    }
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      req.resume();
      reject(new BodyRejectedError('charset.unsupported', `Unsupported charset "${charset.slice(0, 40).toUpperCase()}": send UTF-8`));
      return;
    }
    const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    const inflate = DECOMPRESS.get(encoding);
    if (inflate === undefined && encoding !== 'identity') {
      req.resume();
      reject(new BodyRejectedError('encoding.unsupported', `Unsupported content encoding "${encoding.slice(0, 40)}"`));
      return;
    }
    const inflater = inflate?.();
    const source: Readable = inflater === undefined ? req : req.pipe(inflater);
    const scanner = new JsonStructureScanner({ depth: MAX_JSON_DEPTH, containers: MAX_JSON_CONTAINERS });
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const parts: string[] = [];
    let bytes = 0;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      source.off('data', onData);
      if (inflater !== undefined) {
        req.unpipe(inflater);
        inflater.destroy();
      }
      // The rest is read and dropped, so the answer can go out on a connection that stays usable.
      req.off('data', onData);
      req.resume();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxBytes) return fail(new BodyRejectedError('entity.too.large', 'Request body is too large'));
      scanner.push(chunk);
      if (scanner.maxDepth > MAX_JSON_DEPTH) return fail(new BodyRejectedError('nesting.too.deep', `Request body is nested deeper than ${MAX_JSON_DEPTH} levels`));
      if (scanner.containers > MAX_JSON_CONTAINERS)
        return fail(new BodyRejectedError('too.many.values', `Request body holds more than ${MAX_JSON_CONTAINERS.toLocaleString('en-US')} JSON objects and arrays`));
      try {
        parts.push(decoder.decode(chunk, { stream: true }));
      } catch {
        fail(new BodyRejectedError('encoding.invalid', 'Request body is not valid UTF-8'));
      }
    };
    source.on('data', onData);
    source.once('error', (err: Error) => fail(source === req ? new BodyRejectedError('request.aborted', 'Request aborted by client') : new BodyRejectedError('encoding.invalid', `Request body could not be decompressed (${err.message})`)));
    req.once('aborted', () => fail(new BodyRejectedError('request.aborted', 'Request aborted by client')));
    // A connection that closes before the body is whole, on any path: never a read left waiting.
    req.once('close', () => {
      if (!req.complete) fail(new BodyRejectedError('request.aborted', 'Request aborted by client'));
    });
    source.once('end', () => {
      if (settled) return;
      settled = true;
      let text: string;
      try {
        text = parts.join('') + decoder.decode();
      } catch {
        reject(new BodyRejectedError('encoding.invalid', 'Request body is not valid UTF-8'));
        return;
      }
      // body-parser's strict mode: an empty body is {}, anything else must be an object or an array.
      const first = /\S/.exec(text)?.[0];
      if (first === undefined) return resolve({});
      if (first !== '{' && first !== '[') return reject(new BodyRejectedError('entity.parse.failed', 'Request body is not valid JSON'));
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new BodyRejectedError('entity.parse.failed', 'Request body is not valid JSON'));
      }
    });
  });
}

/**
 * The JSON body parser for `application/json` and `+json` bodies (others are
 * left unread, and the routes that need JSON answer 415): see readJsonBody.
 */
export function jsonBody(maxBytes: number): RequestHandler {
  return (req, _res, next) => {
    if (!hasBody(req.headers) || !req.is(['application/json', '+json'])) {
      next();
      return;
    }
    readJsonBody(req, maxBytes).then((body) => {
      req.body = body;
      next();
    }, next);
  };
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
