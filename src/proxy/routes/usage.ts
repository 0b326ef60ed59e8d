import { Router } from 'express';
import type { ProxyContext } from '../context.ts';

/** Premium-request quota (the same numbers as `github-copilot-svcs usage`). */
export function usageRoutes(ctx: ProxyContext): Router {
  const router = Router();
  router.get(['/usage', '/v1/usage'], async (_req, res) => {
    res.set('cache-control', 'no-store').json(await ctx.usage.get());
  });
  return router;
}
