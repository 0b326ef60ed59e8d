import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable, Transform } from 'node:stream';
import { MIMEType } from 'node:util';
import zlib from 'node:zlib';
import type { Request, RequestHandler } from '../http.ts';
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

/**
 * More values than this (every object, array, key and scalar: the body's commas, colons and
 * brackets) are refused before parsing: a 5 MB `[0,0,...]` is 2.5 million values and held the
 * thread about 200 ms; 300,000 parse in about 30 ms. 10,000 messages with a content block each use about 100,000.
 */
export const MAX_JSON_VALUES = 300_000;

/**
 * More keys than this in one object are refused before parsing: V8 parses a large object's keys
 * into a dictionary at about 1 µs each (120,000 keys: 125 ms), far more than keys spread over small objects.
 */
export const MAX_JSON_OBJECT_KEYS = 10_000;

export interface JsonLimits {
  depth?: number;
  containers?: number;
  values?: number;
  objectKeys?: number;
}

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
 * The shape of a JSON text fed in pieces as it arrives: its nesting depth, the
 * number of objects and arrays, of values (brackets, commas and colons: every
 * object, array, key and scalar) and the most keys in one object (brackets,
 * commas and colons inside strings ignored; an escape or a string may span
 * pieces). Stops counting once past a limit. Strings are skipped with the
 * native `indexOf` to their closing quote, so a 5 MB base64 image costs one
 * memchr, not a JS loop over its bytes.
 */
export class JsonStructureScanner {
  depth = 0;
  maxDepth = 0;
  containers = 0;
  values = 0;
  maxObjectKeys = 0;
  private inString = false;
  /** Inside a string, the previous byte was an unescaped backslash. */
  private escaped = false;
  private readonly limits: Required<JsonLimits>;
  /** Keys seen in the open container at each depth (colons only occur in objects). */
  private readonly keys: number[] = [0];

  constructor(limits: JsonLimits = {}) {
    this.limits = { depth: limits.depth ?? Infinity, containers: limits.containers ?? Infinity, values: limits.values ?? Infinity, objectKeys: limits.objectKeys ?? Infinity };
  }

  /** Past a limit: nothing more is counted. */
  get exceeded(): boolean {
    const l = this.limits;
    return this.maxDepth > l.depth || this.containers > l.containers || this.values > l.values || this.maxObjectKeys > l.objectKeys;
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
      else if (c === 0x2c) this.values++;
      else if (c === 0x3a) {
        this.values++;
        const d = this.depth;
        const keys = (this.keys[d] ?? 0) + 1;
        this.keys[d] = keys;
        if (keys > this.maxObjectKeys) this.maxObjectKeys = keys;
      } else if (c === 0x7b || c === 0x5b) {
        this.depth++;
        this.containers++;
        this.values++;
        this.keys[this.depth] = 0;
        if (this.depth > this.maxDepth) this.maxDepth = this.depth;
      } else if (c === 0x7d || c === 0x5d) this.depth--;
      i++;
    }
  }

  /** The first limit this text is past, as the error that refuses it; null within every limit. */
  rejection(): BodyRejectedError | null {
    const l = this.limits;
    if (this.maxDepth > l.depth) return new BodyRejectedError('nesting.too.deep', `Request body is nested deeper than ${l.depth} levels`);
    if (this.containers > l.containers) return new BodyRejectedError('too.many.values', `Request body holds more than ${l.containers.toLocaleString('en-US')} JSON objects and arrays`);
    if (this.values > l.values) return new BodyRejectedError('too.many.values', `Request body holds more than ${l.values.toLocaleString('en-US')} JSON values`);
    if (this.maxObjectKeys > l.objectKeys) return new BodyRejectedError('too.many.values', `A JSON object in the request body has more than ${l.objectKeys.toLocaleString('en-US')} keys`);
    return null;
  }
}

/** Pure: the deepest nesting of arrays/objects in a JSON text and how many there are, stopping once past either limit. */
export function jsonStructure(buf: Uint8Array, limits: JsonLimits = {}): { depth: number; containers: number; values: number; objectKeys: number } {
  const s = new JsonStructureScanner(limits);
  s.push(buf);
  return { depth: s.maxDepth, containers: s.containers, values: s.values, objectKeys: s.maxObjectKeys };
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

/** Pure: a Content-Type's charset parameter, lower-cased (parsed as a MIME type, so quoted parameters are never mistaken for it). */
export function charsetOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  try {
    return new MIMEType(contentType).params.get('charset')?.toLowerCase() ?? undefined;
  } catch {
    return undefined;
  }
}

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
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<{ body: unknown; bytes: number }> {
  return new Promise((resolve, reject) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes) {
      req.resume();
      reject(new BodyRejectedError('entity.too.large', 'Request body is too large'));
      return;
    }
    const charset = charsetOf(req.headers['content-type']);
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
    // Compressed, the bytes on the wire count too: a stream of empty gzip members inflates to nothing.
    let wireBytes = 0;
    const onWire = (chunk: Buffer) => {
      wireBytes += chunk.length;
      if (wireBytes > maxBytes) fail(new BodyRejectedError('entity.too.large', 'Request body is too large'));
    };
    if (inflater !== undefined) req.on('data', onWire);
    const scanner = new JsonStructureScanner({ depth: MAX_JSON_DEPTH, containers: MAX_JSON_CONTAINERS, values: MAX_JSON_VALUES, objectKeys: MAX_JSON_OBJECT_KEYS });
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const parts: string[] = [];
    let bytes = 0;
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      source.off('data', onData);
      req.off('data', onWire);
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
      const refused = scanner.rejection();
      if (refused !== null) return fail(refused);
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
      // body-parser's strict mode: an empty body is {}, anything else (blanks too) must be an object or an array.
      if (text.length === 0) return resolve({ body: {}, bytes });
      const first = /\S/.exec(text)?.[0];
      if (first !== '{' && first !== '[') return reject(new BodyRejectedError('entity.parse.failed', 'Request body is not valid JSON'));
      try {
        resolve({ body: JSON.parse(text), bytes });
      } catch {
        reject(new BodyRejectedError('entity.parse.failed', 'Request body is not valid JSON'));
      }
    });
  });
}

/**
 * The JSON body parser for `application/json` and `+json` bodies, on the
 * routes that take one (`takesBody`); any other body is never read, and Node
 * drops it unparsed once the answer is sent. See readJsonBody. What is left of
 * a body refused before it was all read is read and dropped within limits
 * (createApp, drainUnread), so the client gets the answer, not a reset.
 */
export function jsonBody(maxBytes: number, takesBody: (req: Request) => boolean): RequestHandler {
  return (req, res, next) => {
    if (!hasBody(req.headers) || !takesBody(req) || !req.is(['application/json', '+json'])) {
      next();
      return;
    }
    readJsonBody(req, maxBytes).then(
      ({ body, bytes }) => {
        req.body = body;
        // The body's real size is known: a chunked or compressed one reserved the largest allowed.
        res.locals.bodyHeld?.shrinkTo(bytes);
        next();
      },
      (err: unknown) => next(err),
    );
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
