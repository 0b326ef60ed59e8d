import type { Dispatcher } from 'undici';
import type { ResolvedConfig } from '../config/schema.ts';
import { AppError, DeviceFlowError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { OAUTH_CLIENT_IDS } from '../upstream/github-client.ts';
import type { DeviceCodePrompt, DeviceFlowOptions, DeviceFlowResult } from './device-flow.ts';
import { RETRY_LATER_MS } from './refresh-policy.ts';

/**
 * The sign-in loop the token manager runs (`run`'s automatic sign-in, the
 * tray's "Sign in with GitHub…"): device flows until one gives a GitHub
 * token, a new code whenever one expires, and, for a sign-in nobody asked for
 * (autoSignIn), a new try after 60 s when GitHub cannot be reached. Says
 * everything in the log; never throws.
 */

export type SignInOutcome = { kind: 'token'; githubToken: string } | { kind: 'cancelled' } | { kind: 'failed'; error: string };

export interface SignInLoopOptions {
  config: DeviceFlowOptions['config'] & Pick<ResolvedConfig, 'oauth_app'>;
  dispatcher: Dispatcher;
  log: Logger;
  deviceFlow: (opts: DeviceFlowOptions) => Promise<DeviceFlowResult>;
  signal: AbortSignal;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Keep trying (after 60 s) when GitHub cannot be reached: the automatic sign-in of `run`. */
  retryUnreachable: boolean;
  openBrowser?: (url: string) => Promise<void> | void;
  /** Each new code, and null when no code is pending any more. */
  onPending: (prompt: DeviceCodePrompt | null) => void;
  /** Something worth showing changed (a failure, a wait). */
  onChange: () => void;
}

export async function runSignInLoop(o: SignInLoopOptions): Promise<SignInOutcome> {
  const { log, signal } = o;
  for (;;) {
    try {
      const flowOpts: DeviceFlowOptions = {
        config: o.config,
        dispatcher: o.dispatcher,
        clientId: OAUTH_CLIENT_IDS[o.config.oauth_app],
        onCode: (p) => {
          log.warn(`To sign in to GitHub Copilot, open ${p.verificationUri} and enter the code ${p.userCode} (valid for ${Math.round((p.expiresAt - o.now()) / 60_000)} min).`);
          o.onPending(p);
        },
        signal,
        now: o.now,
        sleep: o.sleep,
      };
      if (o.openBrowser) flowOpts.openBrowser = o.openBrowser;
      const result = await o.deviceFlow(flowOpts);
      o.onPending(null);
      log.info('Signed in to GitHub.');
      return { kind: 'token', githubToken: result.accessToken };
    } catch (err) {
      o.onPending(null);
      if (err instanceof DeviceFlowError && err.reason === 'expired_token' && !signal.aborted) {
        log.info('The sign-in code expired; issuing a new one.');
        continue;
      }
      if (signal.aborted || (err instanceof DeviceFlowError && err.reason === 'aborted')) {
        o.onChange();
        return { kind: 'cancelled' };
      }
      if (err instanceof AppError && err.isRetryable && o.retryUnreachable) {
        log.warn(`Cannot start a sign-in (${errorText(err)}); trying again in 60 s.`);
        o.onChange();
        try {
          await o.sleep(RETRY_LATER_MS, signal);
        } catch {
          return { kind: 'cancelled' };
        }
        continue;
      }
      log.error(`Sign-in failed: ${errorText(err)}`);
      return { kind: 'failed', error: errorText(err) };
    }
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
