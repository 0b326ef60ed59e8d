import express, { type Express } from 'express';
import { InvalidRequestError } from '../errors.ts';
import type { ProxyContext } from './context.ts';
import { errorMiddleware } from './middleware/errors.ts';
import { requestLog } from './middleware/request-log.ts';
import { adminRoutes } from './routes/admin.ts';
import { chatRoutes } from './routes/chat.ts';
import { healthRoutes } from './routes/health.ts';
import { modelRoutes } from './routes/models.ts';
import { usageRoutes } from './routes/usage.ts';

/** The proxy's HTTP app: middleware, routes, then one error handler. No I/O at construction. */
export function createApp(ctx: ProxyContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', false);
  app.use(requestLog(ctx.log, ctx.stats, ctx.now));
  app.use(express.json({ limit: ctx.config.max_body_bytes, type: ['application/json', '+json'], strict: true }));
  app.use(healthRoutes(ctx));
  app.use(chatRoutes(ctx));
  app.use(modelRoutes(ctx));
  app.use(adminRoutes(ctx));
  app.use(usageRoutes(ctx));
  app.use((req, _res) => {
    throw new InvalidRequestError(`Unknown route: ${req.method} ${req.path}`, { status: 404, code: 'unknown_route' });
  });
  app.use(errorMiddleware(ctx.log));
  return app;
}
