import type { RequestHandler } from '../http.ts';
import type { ProxyMetrics } from '../metrics.ts';

/** `GET /metrics`: Prometheus text. Token-free by construction (no metric carries a credential). */
export function metricsHandler(metrics: ProxyMetrics): RequestHandler {
  return async (_req, res) => {
    const text = await metrics.registry.metrics();
    res.set('cache-control', 'no-store').text(text, metrics.registry.contentType);
  };
}
