import express, { type Express } from 'express';
import { InvalidRequestError } from '../errors.ts';
import type { ProxyContext } from './context.ts';
import { errorMiddleware } from './middleware/errors.ts';
import { debugBodies } from './middleware/debug-bodies.ts';
import { bodyBudget, createBodyBudget } from './middleware/body-budget.ts';
import { jsonBody } from './middleware/json.ts';
import { methodNotAllowed } from './middleware/method-not-allowed.ts';
import { requestLog } from './middleware/request-log.ts';
import { apiKeyAuth, browserGuard, hostCheck } from './middleware/security.ts';
import { createProxyMetrics } from './metrics.ts';
import { debugRoutes } from './routes/debug.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { adminRoutes } from './routes/admin.ts';
import { chatRoutes } from './routes/chat.ts';
import { embeddingsRoutes } from './routes/embeddings.ts';
import { healthRoutes } from './routes/health.ts';
import { messagesRoutes } from './routes/messages.ts';
import { modelRoutes } from './routes/models.ts';
import { responsesRoutes } from './routes/responses.ts';
import { usageRoutes } from './routes/usage.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { fitRecord, type UsageRecord } from '../usage/record.ts';

/** The proxy's HTTP app: middleware, routes, then one error handler. No I/O at construction. */
export function createApp(ctx: ProxyContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', false);
  const metrics = ctx.metrics ?? createProxyMetrics(ctx);
  // Each model request's usage record: to the store (files) and the live feed.
  const usageSink = {
    add: (record: UsageRecord) => {
      // The feed gets what the file got: bounded strings, a record every reader takes (fitted once, by the store).
      const r = ctx.usageLog ? ctx.usageLog.add(record) : fitRecord(record);
      if (r !== null) ctx.usageFeed?.push(r);
    },
  };
  app.use(requestLog(ctx.log, ctx.stats, ctx.now, metrics, usageSink));
  // Security first (README "Security"): DNS rebinding, then browsers, then the api_key; only then is a body read.
  app.use(hostCheck(ctx.config.host));
  app.use(browserGuard(ctx.config.cors_origins));
  app.use(apiKeyAuth(ctx.config.api_key));
  // Bodies count against the in-flight budget before they are read (memory bounded by configuration).
  const budget = createBodyBudget({ maxBytes: ctx.config.max_inflight_body_bytes, maxQueue: ctx.config.max_queue });
  app.use(bodyBudget(budget, ctx.config.max_body_bytes));
  app.use(jsonBody(ctx.config.max_body_bytes));
  if (ctx.config.log_level === 'debug') app.use(debugBodies(ctx.log));
  app.use(healthRoutes(ctx));
  app.use(metricsRoutes(metrics));
  if (ctx.config.debug_endpoints) app.use(debugRoutes(ctx));
  app.use(chatRoutes(ctx));
  app.use(embeddingsRoutes(ctx));
  app.use(responsesRoutes(ctx));
  app.use(messagesRoutes(ctx));
  app.use(modelRoutes(ctx));
  app.use(adminRoutes(ctx));
  app.use(usageRoutes(ctx));
  app.use(dashboardRoutes());
  app.use(methodNotAllowed);
  app.use((req, _res) => {
    throw new InvalidRequestError(`Unknown route: ${req.method} ${req.path}`, { status: 404, code: 'unknown_route' });
  });
  app.use(errorMiddleware(ctx.log));
  return app;
}
