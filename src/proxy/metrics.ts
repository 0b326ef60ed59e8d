import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { createWatchedLoopDelay, type WatchedLoopDelay } from './watched-loop-delay.ts';
import { KNOWN_CLIENT_NAMES, creditsOf } from '../usage/record.ts';
import type { TokenHealth, TokenManager } from '../auth/types.ts';
import { TOKEN_HEALTHS } from '../auth/snapshot.ts';
import type { CopilotGateway } from '../upstream/gateway.ts';
import type { GatewayState } from '../upstream/gateway-state.ts';
import type { ProxyStats } from './context.ts';
import type { RequestRecord } from './middleware/request-log.ts';

/**
 * Prometheus metrics for one app. Each app has its own Registry (never the
 * global default), so tests and the tray's restarts can run several side by side.
 * Label values are bounded: routes are the route patterns (or "unmatched"),
 * models only come from successful requests, methods from a fixed list.
 */

export interface ProxyMetrics {
  registry: Registry;
  /** One request's record (request-log.ts), as it ended. */
  observeRequest(r: RequestRecord): void;
}

export interface MetricsSources {
  gateway: Pick<CopilotGateway, 'state'>;
  tokens: Pick<TokenManager, 'snapshot'>;
  stats: ProxyStats;
  now: () => number;
  version: string;
  /** process_* and nodejs_* metrics (default true). */
  processMetrics?: boolean;
  /** The event-loop delay monitor shared with /debug, started by a scrape (watched-loop-delay.ts). */
  loopDelay?: WatchedLoopDelay;
}

/**
 * The process_* and nodejs_* metrics Prometheus users expect (prom-client's
 * names), each read when scraped: nothing runs between scrapes. prom-client's
 * collectDefaultMetrics keeps a 10 ms event-loop monitor running for the life
 * of the process (about 100 wake-ups a second when idle), so it is not used;
 * the delay percentiles come from a monitor a scrape starts and that stops
 * 5 minutes after the last one.
 */
function processMetrics(registers: Registry[], loopDelay: WatchedLoopDelay): void {
  const started = Math.round(Date.now() / 1000 - process.uptime());
  const cpu = (name: string, help: string, pick: (u: NodeJS.CpuUsage) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(pick(process.cpuUsage()) / 1e6);
      },
    });
  cpu('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', (u) => u.user);
  cpu('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.', (u) => u.system);
  cpu('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', (u) => u.user + u.system);
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', () => started);
  gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () => process.memoryUsage.rss());
  gauge('nodejs_heap_size_total_bytes', 'Process heap size from Node.js in bytes.', () => process.memoryUsage().heapTotal);
  gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', () => process.memoryUsage().heapUsed);
  gauge('nodejs_external_memory_bytes', 'Node.js external memory size in bytes.', () => process.memoryUsage().external);
  gauge('nodejs_active_resources_total', 'Number of active resources that are keeping the event loop alive.', () => process.getActiveResourcesInfo().length);
  new Gauge({
    name: 'nodejs_eventloop_lag_seconds',
    help: 'Lag of event loop in seconds (one setImmediate, measured at the scrape).',
    registers,
    async collect() {
      const t = process.hrtime.bigint();
      await new Promise((r) => setImmediate(r));
      this.set(Number(process.hrtime.bigint() - t) / 1e9);
    },
  });
  const pct = (p: number) =>
    gauge(`nodejs_eventloop_lag_p${p}_seconds`, `The ${p}th percentile of the event-loop delay since the monitor started (a scrape starts it; it stops 5 min after the last).`, () => {
      const h = loopDelay.touch();
      const v = h.percentile(p);
      return Number.isFinite(v) ? v / 1e9 : 0;
    });
  pct(50);
  pct(99);
}

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const CIRCUIT_STATES: ReadonlyArray<GatewayState['circuit']> = ['closed', 'open', 'half_open'];
const HEALTHS: readonly TokenHealth[] = TOKEN_HEALTHS;
const SANE_MODEL = /^[A-Za-z0-9._:/@-]{1,100}$/;

export function createProxyMetrics(src: MetricsSources): ProxyMetrics {
  const registry = new Registry();
  const registers = [registry];

  const requests = new Counter({
    name: 'gcs_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern, model and status',
    labelNames: ['method', 'route', 'model', 'status'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'gcs_http_request_duration_seconds',
    help: 'Time from request to the end of the response (whole stream included)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const ttfb = new Histogram({
    name: 'gcs_http_time_to_first_byte_seconds',
    help: 'Time from request to the first byte of the response body (first SSE event for streams)',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const credits = new Counter({
    name: 'gcs_ai_credits_total',
    help: 'AI credits used (from Copilot\'s copilot_usage, or estimated from the price table), by model and client',
    labelNames: ['model', 'client'] as const,
    registers,
  });
  const premium = new Counter({
    name: 'gcs_premium_requests_total',
    help: 'Premium requests used (the model multiplier for user turns on premium models), by model and client',
    labelNames: ['model', 'client'] as const,
    registers,
  });
  const tokensUsed = new Counter({
    name: 'gcs_tokens_total',
    help: 'Tokens reported by Copilot, by model and kind (prompt, completion)',
    labelNames: ['model', 'kind'] as const,
    registers,
  });
  new Gauge({
    name: 'gcs_http_requests_in_flight',
    help: 'HTTP requests being served',
    registers,
    collect() {
      this.set(src.stats.inFlight);
    },
  });
  new Gauge({
    name: 'gcs_http_streams_in_flight',
    help: 'Streaming (SSE) responses being relayed',
    registers,
    collect() {
      this.set(src.stats.inFlightStreams);
    },
  });
  new Counter({
    name: 'gcs_upstream_retries_total',
    help: 'Upstream requests retried after a retryable failure',
    registers,
    collect() {
      this.reset();
      this.inc(src.gateway.state().retries);
    },
  });
  new Gauge({
    name: 'gcs_upstream_circuit_state',
    help: 'Circuit breaker around the Copilot API: 1 for the current state',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const current = src.gateway.state().circuit;
      for (const s of CIRCUIT_STATES) this.set({ state: s }, s === current ? 1 : 0);
    },
  });
  new Gauge({
    name: 'gcs_upstream_consecutive_failures',
    help: 'Consecutive failed upstream calls (the breaker opens at its threshold)',
    registers,
    collect() {
      this.set(src.gateway.state().consecutiveFailures);
    },
  });
  new Gauge({
    name: 'gcs_upstream_requests_in_flight',
    help: 'Upstream calls in progress',
    registers,
    collect() {
      this.set(src.gateway.state().inFlight);
    },
  });
  new Gauge({
    name: 'gcs_upstream_requests_queued',
    help: 'Requests waiting for an upstream slot (max_concurrency)',
    registers,
    collect() {
      this.set(src.gateway.state().queued);
    },
  });
  new Gauge({
    name: 'gcs_copilot_token_expiry_seconds',
    help: 'Seconds until the Copilot token expires (negative: expired; absent: no token or no expiry)',
    registers,
    collect() {
      this.reset();
      const exp = src.tokens.snapshot().expiresAt;
      if (exp !== null) this.set(exp - Math.floor(src.now() / 1000));
    },
  });
  new Gauge({
    name: 'gcs_token_health',
    help: 'Token health: 1 for the current state (healthy, refresh_soon, needs_refresh, not_signed_in)',
    labelNames: ['health'] as const,
    registers,
    collect() {
      const current = src.tokens.snapshot().health;
      for (const h of HEALTHS) this.set({ health: h }, h === current ? 1 : 0);
    },
  });
  new Gauge({
    name: 'gcs_build_info',
    help: 'Always 1; the version as a label',
    labelNames: ['version'] as const,
    registers,
  }).set({ version: src.version }, 1);
  if (src.processMetrics !== false) processMetrics(registers, src.loopDelay ?? createWatchedLoopDelay());

  return {
    registry,
    observeRequest(r) {
      const method = METHODS.has(r.method) ? r.method : 'other';
      const status = String(r.status);
      // Only the upstream model of a successful request, bounded by Copilot's list: a name a
      // client made up (count_tokens answers any) never becomes a series.
      const model = r.status < 400 && r.upstreamModel && SANE_MODEL.test(r.upstreamModel) ? r.upstreamModel : '';
      requests.inc({ method, route: r.route, model, status });
      duration.observe({ method, route: r.route, status }, r.totalMs / 1000);
      if (r.ttfbMs !== undefined) ttfb.observe({ method, route: r.route }, r.ttfbMs / 1000);
      // Clients outside the known set are "other": a local program cannot grow the label set.
      const client = KNOWN_CLIENT_NAMES.has(r.client) ? r.client : 'other';
      if (model && r.premium) premium.inc({ model, client }, r.premium);
      if (model && r.cost.nanoAiu) credits.inc({ model, client }, creditsOf(r.cost.nanoAiu));
      if (model) {
        if (r.usage.input) tokensUsed.inc({ model, kind: 'prompt' }, r.usage.input);
        if (r.usage.output) tokensUsed.inc({ model, kind: 'completion' }, r.usage.output);
      }
    },
  };
}
