import type { CopilotAuth, TokenManager } from '../auth/types.ts';
import { UpstreamHttpError } from '../errors.ts';
import type { Logger } from '../log.ts';

/**
 * The one door to the Copilot API for the proxy's routes. Every call gets a
 * fresh auth from the token manager; a 401 (or a first 403) from Copilot makes
 * the manager refresh once (single-flight) and the call is tried once more.
 */
export interface CopilotGateway {
  call<T>(what: string, signal: AbortSignal | undefined, fn: (auth: CopilotAuth, signal: AbortSignal | undefined) => Promise<T>): Promise<T>;
  /** Counters and breaker state for /health and /metrics. */
  state(): GatewayState;
}

export interface GatewayState {
  circuit: 'closed' | 'open' | 'half_open';
  consecutiveFailures: number;
  inFlight: number;
  queued: number;
  retries: number;
}

export interface GatewayDeps {
  tokens: TokenManager;
  log: Logger;
}

export function createGateway(deps: GatewayDeps): CopilotGateway {
  let inFlight = 0;
  return {
    async call(what, signal, fn) {
      inFlight += 1;
      try {
        const auth = await deps.tokens.getAuth(signal);
        try {
          return await fn(auth, signal);
        } catch (err) {
          if (err instanceof UpstreamHttpError && (err.status === 401 || err.status === 403)) {
            deps.log.info(`${what}: Copilot answered ${err.status}; refreshing the token and retrying once`);
            const fresh = await deps.tokens.handleUnauthorized(auth);
            return await fn(fresh, signal);
          }
          throw err;
        }
      } finally {
        inFlight -= 1;
      }
    },
    state() {
      return { circuit: 'closed', consecutiveFailures: 0, inFlight, queued: 0, retries: 0 };
    },
  };
}
