/**
 * Errors are classes with a code, an HTTP status and a retryable flag decided
 * when built. Retry and breaker logic only read `isRetryable`; one error
 * middleware maps them to responses in the caller's API shape.
 */

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly isRetryable: boolean;
  constructor(message: string, opts: { code: string; status: number; isRetryable?: boolean; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.status = opts.status;
    this.isRetryable = opts.isRetryable ?? false;
  }
}

/** A bad config file, env var or flag. `lines` holds one human line per problem. */
export class ConfigError extends AppError {
  readonly lines: string[];
  /** Said beside the problems (a misspelt key often explains the error next to it), labelled as warnings. */
  readonly warnings: string[];
  constructor(lines: string[], warnings: string[] = []) {
    super([...lines, ...warnings].join('\n'), { code: 'config_invalid', status: 500 });
    this.lines = lines;
    this.warnings = warnings;
  }
}

/** A request the client got wrong (malformed JSON, bad field...). */
export class InvalidRequestError extends AppError {
  readonly param: string | null;
  constructor(message: string, opts: { code?: string; status?: number; param?: string | null } = {}) {
    super(message, { code: opts.code ?? 'invalid_request_error', status: opts.status ?? 400 });
    this.param = opts.param ?? null;
  }
}

/** The upstream answered with an error status. Message is the upstream's text. */
export class UpstreamHttpError extends AppError {
  readonly upstreamStatus: number;
  readonly upstreamCode: string | undefined;
  readonly retryAfterSec: number | undefined;
  constructor(status: number, message: string, opts: { upstreamCode?: string; retryAfterSec?: number } = {}) {
    super(message, {
      code: opts.upstreamCode ?? `upstream_${status}`,
      status,
      isRetryable: status === 408 || status === 429 || status >= 500,
    });
    this.upstreamStatus = status;
    this.upstreamCode = opts.upstreamCode;
    this.retryAfterSec = opts.retryAfterSec;
  }
}

/**
 * Copilot answered 200 with a body no client could use (not JSON, `{}`, `null`,
 * no choices, JSON to a stream request). Never retried: the call was answered,
 * and may have been billed; not a breaker failure either.
 */
export class UpstreamMalformedError extends AppError {
  constructor(message: string) {
    super(message, { code: 'upstream_malformed', status: 502, isRetryable: false });
  }
}

/** The upstream could not be reached or the connection broke before a response. */
export class UpstreamNetworkError extends AppError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'upstream_unreachable', status: 502, isRetryable: true, cause });
  }
}

export class UpstreamTimeoutError extends AppError {
  constructor(message: string) {
    super(message, { code: 'upstream_timeout', status: 504, isRetryable: true });
  }
}

export class CircuitOpenError extends AppError {
  readonly retryAfterSec: number;
  constructor(retryAfterSec: number) {
    super('Copilot upstream is failing; the circuit breaker is open. Try again shortly.', {
      code: 'circuit_open',
      status: 503,
    });
    this.retryAfterSec = retryAfterSec;
  }
}

export class OverloadedError extends AppError {
  readonly retryAfterSec: number;
  constructor(retryAfterSec: number) {
    super('Too many concurrent requests to the proxy; try again shortly.', { code: 'rate_limited', status: 429 });
    this.retryAfterSec = retryAfterSec;
  }
}

/** No usable GitHub token: the user has to sign in (device flow or `auth --token`). */
export class AuthRequiredError extends AppError {
  constructor(message = 'Not signed in to GitHub Copilot. Run `github-copilot-svcs auth` (or use "Sign in with GitHub…" in the tray).') {
    super(message, { code: 'auth_required', status: 401 });
  }
}

/** A command failed; only src/main.ts turns this into process.exit. */
export class ExitError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'ExitError';
    this.exitCode = exitCode;
  }
}

/**
 * GitHub rejected the GitHub token itself (401/403/404 from the Copilot token
 * exchange or /copilot_internal/user): refreshing will not help, a new sign-in will.
 * The message is GitHub's text plus what to do; it never holds a token.
 */
export class GithubAuthRejectedError extends AppError {
  readonly upstreamStatus: number;
  constructor(upstreamStatus: number, message: string) {
    super(message, { code: 'github_auth_rejected', status: 401 });
    this.upstreamStatus = upstreamStatus;
  }
}

/** The device flow ended without a token. `reason` says how, the message says it to a human. */
export class DeviceFlowError extends AppError {
  readonly reason: 'expired_token' | 'access_denied' | 'deadline' | 'aborted' | 'failed';
  constructor(reason: DeviceFlowError['reason'], message: string) {
    super(message, { code: `device_flow_${reason}`, status: 401 });
    this.reason = reason;
  }
}
