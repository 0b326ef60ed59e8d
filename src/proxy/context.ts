import type { Dispatcher } from 'undici';
import type { TokenManager } from '../auth/types.ts';
import type { ResolvedConfig } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { CopilotClient, CopilotModel } from '../upstream/copilot-client.ts';
import type { UsageSummary } from '../usage/api.ts';
import type { CopilotGateway } from '../upstream/gateway.ts';
import type { CachedFetcher } from './cache.ts';
import type { ProxyMetrics } from './metrics.ts';
import type { ModelRouter } from './models/router.ts';
import type { UsageFeed } from '../usage/feed.ts';
import type { UsageStore } from '../usage/store.ts';
import type { UsageRollups } from '../usage/rollup.ts';

/** Everything a route needs, built once by the composition root (run / child-main). */
export interface ProxyContext {
  config: ResolvedConfig;
  tokens: TokenManager;
  dispatcher: Dispatcher;
  /** The Copilot API on `dispatcher`, with the configured editor identity. */
  copilot: CopilotClient;
  gateway: CopilotGateway;
  log: Logger;
  version: string;
  startedAt: number;
  /** What /health names this proxy by (config/identity.ts). */
  instance: { dataDirId: string; id: string };
  now: () => number;
  models: CachedFetcher<CopilotModel[]>;
  /** Requested model name -> Copilot model and endpoint (model_map, dated names, fallback, supported_endpoints). */
  router: ModelRouter;
  /** Premium-request quota from GitHub's /copilot_internal/user, cached briefly. */
  usage: CachedFetcher<UsageSummary>;
  stats: ProxyStats;
  /** Where each model request's usage record goes (none in unit tests). */
  usageLog?: Pick<UsageStore, 'add' | 'flush' | 'close'>;
  /** Daily totals of the usage files, kept between calls (GET /usage). */
  usageRollups?: UsageRollups;
  /** The last requests, live (GET /usage/events). */
  usageFeed?: UsageFeed;
  /** Prometheus registry for this app; createApp builds one when absent. */
  metrics?: ProxyMetrics;
}

export interface ProxyStats {
  inFlight: number;
  inFlightStreams: number;
  requestsTotal: number;
}
