import { setTimeout as delay } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import type { ResolvedConfig } from '../config/schema.ts';
import { AppError, DeviceFlowError } from '../errors.ts';
import { pollAccessToken, requestDeviceCode } from '../upstream/github-client.ts';

/** What the user has to do: open `verificationUri`, enter `userCode`, before `expiresAt` (unix ms). */
export interface DeviceCodePrompt {
  verificationUri: string;
  userCode: string;
  expiresAt: number;
}

export interface DeviceFlowProgress {
  /** Seconds until the code expires. */
  secondsLeft: number;
  /** Seconds until the next poll. */
  nextPollIn: number;
  polls: number;
}

export interface DeviceFlowOptions {
  config: Pick<ResolvedConfig, 'github_url' | 'github_api_url'>;
  dispatcher: Dispatcher;
  clientId: string;
  /** Opens the verification page; omitted = do not open (`--no-browser`). Its failures are ignored. */
  openBrowser?: (url: string) => Promise<void> | void;
  onCode: (prompt: DeviceCodePrompt) => void;
  onProgress?: (p: DeviceFlowProgress) => void;
  signal?: AbortSignal;
  /** Epoch ms. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Give up after this long in total even if the code has not expired (default: the code's lifetime). */
  deadlineMs?: number;
}

export interface DeviceFlowResult {
  accessToken: string;
  scope: string;
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> => delay(ms, undefined, { signal });

/**
 * RFC 8628 device authorization as GitHub implements it. Ends with a token or a
 * DeviceFlowError whose message tells the user what happened and what to do.
 */
export async function runDeviceFlow(opts: DeviceFlowOptions): Promise<DeviceFlowResult> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? defaultSleep;
  const signal = opts.signal;
  const deps = { dispatcher: opts.dispatcher, config: opts.config, signal };
  const aborted = () => new DeviceFlowError('aborted', 'Sign-in cancelled.');

  if (signal?.aborted) throw aborted();
  const started = now();
  let code;
  try {
    code = await requestDeviceCode(deps, opts.clientId);
  } catch (err) {
    if (signal?.aborted) throw aborted();
    throw err;
  }
  const expiresAt = started + code.expires_in * 1000;
  const deadline = started + (opts.deadlineMs ?? code.expires_in * 1000);
  opts.onCode({ verificationUri: code.verification_uri, userCode: code.user_code, expiresAt });

  if (opts.openBrowser) {
    try {
      await opts.openBrowser(code.verification_uri);
    } catch {
      // No browser (headless, SSH): the URL and code are already shown.
    }
  }

  let intervalSec = code.interval;
  let polls = 0;
  for (;;) {
    if (signal?.aborted) throw aborted();
    const t = now();
    if (t >= expiresAt) throw expiredError();
    if (t >= deadline) {
      throw new DeviceFlowError('deadline', `Sign-in timed out after ${Math.round((t - started) / 1000)} s without the code being entered. Run \`github-copilot-svcs auth\` again.`);
    }
    opts.onProgress?.({ secondsLeft: Math.max(0, Math.round((expiresAt - t) / 1000)), nextPollIn: intervalSec, polls });
    try {
      await sleep(intervalSec * 1000, signal);
    } catch (err) {
      if (signal?.aborted) throw aborted();
      throw err;
    }
    if (signal?.aborted) throw aborted();
    polls += 1;
    let r;
    try {
      r = await pollAccessToken(deps, { clientId: opts.clientId, deviceCode: code.device_code });
    } catch (err) {
      if (signal?.aborted) throw aborted();
      // A network blip or a 5xx while polling: keep polling until the code expires.
      if (err instanceof AppError && err.isRetryable) continue;
      throw err;
    }
    switch (r.kind) {
      case 'token':
        return { accessToken: r.accessToken, scope: r.scope };
      case 'pending':
        break;
      case 'slow_down':
        // RFC 8628 3.5: add 5 s to this and every later poll; GitHub also sends the new interval.
        intervalSec = Math.max(intervalSec + 5, r.interval ?? 0);
        break;
      case 'expired':
        throw expiredError();
      case 'denied':
        throw new DeviceFlowError('access_denied', 'Sign-in was denied on GitHub (access_denied). Run `github-copilot-svcs auth` to try again.');
      case 'error':
        throw new DeviceFlowError('failed', `GitHub ended the sign-in: ${r.error}${r.description ? ` (${r.description})` : ''}.`);
    }
  }
}

function expiredError(): DeviceFlowError {
  return new DeviceFlowError('expired_token', 'The sign-in code expired before it was entered. Run `github-copilot-svcs auth` to get a new one.');
}

/** Opens `url` with the `open` package; never throws (no browser on a server is fine). */
export async function openInBrowser(url: string): Promise<void> {
  try {
    const { default: open } = await import('open');
    const child = await open(url);
    child.on('error', () => {
      /* xdg-open missing and the like */
    });
    child.unref();
  } catch {
    /* no browser */
  }
}
