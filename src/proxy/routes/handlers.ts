import type { RequestHandler } from '../http.ts';
import type { ProxyContext } from '../context.ts';
import type { ProxyMetrics } from '../metrics.ts';
import { adminHandlers } from './admin.ts';
import { chatHandlers } from './chat.ts';
import { dashboardHandler } from './dashboard.ts';
import { debugHandlers } from './debug.ts';
import { embeddingsHandlers } from './embeddings.ts';
import { healthHandler } from './health.ts';
import { messagesHandlers } from './messages.ts';
import { metricsHandler } from './metrics.ts';
import { modelHandlers } from './models.ts';
import { responsesHandlers } from './responses.ts';
import { usageHandlers } from './usage.ts';

/** Each route's handler, built once per app; the route table (table.ts) picks them by name. */
export function routeHandlers(ctx: ProxyContext, metrics: ProxyMetrics) {
  return {
    chat: chatHandlers(ctx),
    messages: messagesHandlers(ctx),
    responses: responsesHandlers(ctx),
    embeddings: embeddingsHandlers(ctx),
    models: modelHandlers(ctx),
    health: healthHandler(ctx),
    metrics: metricsHandler(metrics),
    usage: usageHandlers(ctx),
    admin: adminHandlers(ctx),
    debug: debugHandlers(ctx),
    dashboard: dashboardHandler(),
  } satisfies Record<string, RequestHandler | Record<string, RequestHandler>>;
}

export type RouteHandlers = ReturnType<typeof routeHandlers>;
