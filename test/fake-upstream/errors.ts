// Canned upstream error responses, for `fake.failNext(n, errors.xxx())`.
// Copilot's API is a Go service: its plain-text errors come from http.Error, which means
// `text/plain; charset=utf-8`, `x-content-type-options: nosniff` and a trailing "\n".

export interface FailSpec {
  status: number;
  /** string → sent as is (text/plain unless headers say otherwise); object → JSON. */
  body?: string | object;
  headers?: Record<string, string>;
  /** Only requests whose path starts with this prefix match (default: any request). */
  path?: string;
}

export const TEXT_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/plain; charset=utf-8',
  'x-content-type-options': 'nosniff',
};

function text(status: number, message: string, extra: Record<string, string> = {}): FailSpec {
  return { status, body: `${message}\n`, headers: { ...TEXT_HEADERS, ...extra } };
}

function copilotJson(status: number, error: Record<string, unknown>, extra: Record<string, string> = {}): FailSpec {
  return { status, body: { error }, headers: { 'content-type': 'application/json', ...extra } };
}

export const errors = {
  /** 401 text, what Copilot sends once the short-lived token's exp has passed. */
  tokenExpired(): FailSpec {
    return text(401, 'unauthorized: token expired');
  },
  /** 401 text for a token Copilot does not recognise. */
  tokenInvalid(): FailSpec {
    return text(401, 'unauthorized: token invalid');
  },
  /** 402 JSON: premium-request quota used up. */
  quotaExceeded(retryAfterSec?: number): FailSpec {
    const extra: Record<string, string> = retryAfterSec === undefined ? {} : { 'retry-after': String(retryAfterSec) };
    return copilotJson(402, { message: 'You have no quota', code: 'quota_exceeded' }, extra);
  },
  /** 403 text: the account has no (more) Copilot access. */
  forbidden(message = 'forbidden: access to this endpoint is not allowed for this user'): FailSpec {
    return text(403, message);
  },
  /** 429 JSON with retry-after and x-ratelimit-exceeded. */
  rateLimited(retryAfterSec = 60): FailSpec {
    return copilotJson(
      429,
      {
        message: 'Sorry, you have been rate-limited. Please wait a moment before trying again.',
        code: 'rate_limited',
        type: 'rate_limit_error',
      },
      { 'retry-after': String(retryAfterSec), 'x-ratelimit-exceeded': 'global-chat:per-user' },
    );
  },
  /** 5xx bodies in the styles seen from Copilot and the proxies in front of it. */
  serverError(status: 500 | 502 | 503 | 504 = 500): FailSpec {
    switch (status) {
      case 502:
        return {
          status,
          body: '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n',
          headers: { 'content-type': 'text/html' },
        };
      case 503:
        return copilotJson(503, { message: 'Service Unavailable: the model is temporarily unavailable, please try again later', code: 'service_unavailable' });
      case 504:
        return text(504, 'upstream request timeout');
      default:
        return text(500, 'internal server error');
    }
  },
  /** 400 JSON in Copilot's envelope (use `plain: true` for the text/plain 400s Copilot also sends). */
  badRequest(message = 'Bad Request', opts: { plain?: boolean; code?: string } = {}): FailSpec {
    if (opts.plain === true) return text(400, `bad request: ${message}`);
    return copilotJson(400, { message, code: opts.code ?? 'invalid_request_body', param: null, type: 'invalid_request_error' });
  },
  modelNotSupported(): FailSpec {
    return copilotJson(400, {
      message: 'The requested model is not supported.',
      code: 'model_not_supported',
      param: 'model',
      type: 'invalid_request_error',
    });
  },
  /** 466: editor/plugin version too old. */
  clientVersionUnsupported(): FailSpec {
    return text(466, 'client version not supported, please update to the latest version');
  },
};
