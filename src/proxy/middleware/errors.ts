import type { ErrorRequestHandler, Request, Response } from '../http.ts';
import { AppError, CircuitOpenError, InvalidRequestError, OverloadedError, UpstreamHttpError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { UsageLimitError } from '../../upstream/usage-limit.ts';
import { shapeFor, type ErrorShape } from '../routes/table.ts';

export type { ErrorShape };

const OPENAI_TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'insufficient_quota',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  408: 'timeout_error',
  413: 'invalid_request_error',
  415: 'invalid_request_error',
  422: 'invalid_request_error',
  429: 'rate_limit_error',
};

const ANTHROPIC_TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  503: 'overloaded_error',
  529: 'overloaded_error',
};

export interface ErrorPayload {
  status: number;
  message: string;
  code: string | null;
  param: string | null;
  retryAfterSec?: number;
}

const anthropicType = (status: number): string => ANTHROPIC_TYPE[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');

/** Pure: an error payload in the caller's shape. */
export function errorBody(shape: ErrorShape, p: ErrorPayload): Record<string, unknown> {
  if (shape === 'anthropic') return { type: 'error', error: { type: anthropicType(p.status), message: p.message } };
  return {
    error: {
      message: p.message,
      type: OPENAI_TYPE[p.status] ?? (p.status >= 500 ? 'server_error' : 'invalid_request_error'),
      code: p.code,
      param: p.param,
    },
  };
}

/**
 * Pure: an error payload for a request whose path is unknown (the parser failed before the
 * request line, or in a later packet of long headers): Anthropic's envelope with OpenAI's
 * fields added, one body that both SDKs read as their own error.
 */
export function eitherErrorBody(p: ErrorPayload): Record<string, unknown> {
  return { type: 'error', error: { type: anthropicType(p.status), message: p.message, code: p.code, param: p.param } };
}

/** Errors thrown by body-parser carry `type` and `status`. */
function bodyParserError(err: unknown): ErrorPayload | undefined {
  if (typeof err !== 'object' || err === null || !('type' in err)) return undefined;
  const type = String(err.type);
  if (type === 'entity.too.large') return { status: 413, message: 'Request body is too large', code: 'request_too_large', param: null };
  if (type === 'entity.parse.failed') return { status: 400, message: 'Request body is not valid JSON', code: 'invalid_json', param: null };
  if (type === 'encoding.unsupported' || type === 'charset.unsupported')
    return { status: 415, message: 'Unsupported request body encoding', code: 'unsupported_encoding', param: null };
  if (type === 'request.aborted') return { status: 400, message: 'Request aborted by client', code: 'request_aborted', param: null };
  if (type === 'request.size.invalid' || type === 'stream.encoding.set')
    return { status: 400, message: 'Malformed request body', code: 'invalid_body', param: null };
  if (type === 'encoding.invalid') return { status: 400, message: err instanceof Error ? err.message : 'Request body is not valid UTF-8', code: 'invalid_encoding', param: null };
  if (type === 'too.many.values') return { status: 413, message: err instanceof Error ? err.message : 'Request body holds too many values', code: 'request_too_large', param: null };
  if (type === 'nesting.too.deep') return { status: 400, message: err instanceof Error ? err.message : 'Request body is nested too deeply', code: 'invalid_body', param: null };
  return undefined;
}

/** Client errors a library raises with a 4xx `status` (the http-errors convention). */
function httpClientError(err: unknown): ErrorPayload | undefined {
  if (!(err instanceof Error) || !('status' in err) || typeof err.status !== 'number') return undefined;
  if (err.status < 400 || err.status > 499) return undefined;
  return { status: err.status, message: err.message.slice(0, 200), code: 'invalid_request', param: null };
}

export function toErrorPayload(err: unknown): ErrorPayload {
  const parsed = bodyParserError(err);
  if (parsed) return parsed;
  if (err instanceof InvalidRequestError) return { status: err.status, message: err.message, code: err.code, param: err.param };
  if (err instanceof UpstreamHttpError)
    return { status: err.status, message: err.message, code: err.upstreamCode ?? null, param: null, retryAfterSec: err.retryAfterSec };
  if (err instanceof CircuitOpenError || err instanceof OverloadedError || err instanceof UsageLimitError)
    return { status: err.status, message: err.message, code: err.code, param: null, retryAfterSec: err.retryAfterSec };
  if (err instanceof AppError) return { status: err.status, message: err.message, code: err.code, param: null };
  const client = httpClientError(err);
  if (client) return client;
  return { status: 500, message: 'Internal proxy error', code: 'internal_error', param: null };
}

export function sendError(req: Request, res: Response, err: unknown): void {
  const p = toErrorPayload(err);
  if (p.retryAfterSec !== undefined) res.setHeader('retry-after', String(Math.ceil(p.retryAfterSec)));
  res.locals.errorCode = p.code ?? undefined;
  res.status(p.status).json(errorBody(shapeFor(req.path), p));
}

/** Registered last: routes just throw. */
export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const p = toErrorPayload(err);
    if (p.status >= 500 && !(err instanceof AppError)) log.error(`unhandled error on ${req.method} ${req.path}:`, err);
    if (res.headersSent) {
      // A stream already started: nothing sensible can be sent in the envelope any more.
      res.end();
      return;
    }
    sendError(req, res, err);
  };
}
