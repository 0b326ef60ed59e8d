import { dataDirId, newInstanceId } from '../config/identity.ts';
import type { Dispatcher } from 'undici';
import type { TokenManager } from '../auth/types.ts';
import type { ResolvedConfig } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { createCopilotClient, type CopilotModel } from '../upstream/copilot-client.ts';
import { createGateway, type CopilotGateway, type ResilienceOptions } from '../upstream/gateway.ts';
import { applyQuotaSnapshot, getCopilotUser, toUsageSummary } from '../upstream/github-client.ts';
import type { UsageSummary } from '../usage/api.ts';
import { createCachedFetcher } from './cache.ts';
import type { ProxyContext } from './context.ts';
import { createApp } from './create-app.ts';
import { createModelRouter } from './models/router.ts';
import { hardenServer } from './middleware/client-error.ts';
import { createProxyMetrics } from './metrics.ts';
import { startServer, type RunningServer } from './server.ts';
import { VERSION } from '../version.ts';
import { createUsageFeed } from '../usage/feed.ts';
import { openUsageStore, usageDir } from '../usage/store.ts';
import { createUsageRollups } from '../usage/rollup.ts';

export const MODELS_TTL_MS = 5 * 60 * 1000;
export const USAGE_TTL_MS = 60 * 1000;

export interface ProxyDeps {
  config: ResolvedConfig;
  log: Logger;
  tokens: TokenManager;
  dispatcher: Dispatcher;
  now?: () => number;
  /** Wraps the default gateway (resilience, metrics); default: plain auth-aware gateway. */
  gateway?: CopilotGateway;
  /** Retry/breaker knobs beyond config.json for the default gateway (tests, benchmarks: short waits). */
  resilience?: Partial<ResilienceOptions>;
}

export interface ProxyHandle {
  url: string;
  port: number;
  ctx: ProxyContext;
  server: RunningServer;
  /** Graceful: stop accepting, let in-flight requests finish up to the deadline. Idempotent. */
  stop(deadlineMs?: number): Promise<void>;
}

/** Build the context, the app and the listening server. The token manager is started by the caller. */
export async function startProxy(deps: ProxyDeps): Promise<ProxyHandle> {
  const now = deps.now ?? Date.now;
  const gateway = deps.gateway ?? createGateway({ tokens: deps.tokens, log: deps.log, config: deps.config, resilience: deps.resilience });
  const stats = { inFlight: 0, inFlightStreams: 0, requestsTotal: 0 };
  const usage = createCachedFetcher<UsageSummary>(
    async () => toUsageSummary(await getCopilotUser({ dispatcher: deps.dispatcher, config: deps.config }, await deps.tokens.getGithubToken())),
    USAGE_TTL_MS,
    now,
  );
  // Each Copilot answer's quota snapshot header moves the remaining count without a call to GitHub.
  const copilot = createCopilotClient(deps.dispatcher, deps.config.headers, (headers) => {
    const header = headers['x-quota-snapshot-premium_interactions'];
    if (header === undefined) return;
    usage.update((current) => applyQuotaSnapshot(header, current) ?? current);
  });
  const models = createCachedFetcher<CopilotModel[]>(
    () => gateway.call('models', undefined, (auth, signal) => copilot.listModels({ auth, signal })),
    MODELS_TTL_MS,
    now,
  );
  const ctx: ProxyContext = {
    config: deps.config,
    tokens: deps.tokens,
    dispatcher: deps.dispatcher,
    copilot,
    gateway,
    log: deps.log,
    version: VERSION,
    startedAt: now(),
    instance: { dataDirId: dataDirId(deps.config.paths.dataDir), id: newInstanceId() },
    now,
    models,
    router: createModelRouter({ models, modelMap: deps.config.model_map, fallback: deps.config.model_fallback, log: deps.log }),
    usage,
    stats,
    // Local usage accounting (src/usage/): a record per model request, written off the request path.
    usageFeed: createUsageFeed(),
    usageRollups: createUsageRollups(usageDir(deps.config.paths.dataDir)),
    usageLog: openUsageStore({ dir: usageDir(deps.config.paths.dataDir), now, onError: (e) => deps.log.warn(`usage records cannot be written: ${e instanceof Error ? e.message : String(e)}`) }),
  };
  ctx.metrics = createProxyMetrics(ctx);
  const app = createApp(ctx);
  const server = await startServer(app, deps.config, stats, deps.log);
  hardenServer(server.server);
  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    port: server.port,
    ctx,
    server,
    stop(deadlineMs = deps.config.timeouts.shutdown * 1000) {
      // The live feeds never end by themselves: end them first, so shutdown waits only for real requests.
      ctx.usageFeed?.close();
      stopping ??= server.close(deadlineMs).then(() => {
        ctx.usageLog?.close();
        gateway.close?.();
      });
      return stopping;
    },
  };
}
