import { Router, type RequestHandler } from 'express';
import { tokenJson } from '../../auth/snapshot.ts';
import { isLoopbackHost } from '../../config/schema.ts';
import { AppError } from '../../errors.ts';
import type { ProxyContext } from '../context.ts';

/** Admin routes answer only on loopback connections, and never return a token. */
export const loopbackOnly: RequestHandler = (req, _res, next) => {
  const addr = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  if (!isLoopbackHost(addr)) throw new AppError('Admin routes are only available from this machine', { code: 'forbidden', status: 403 });
  next();
};

export function adminRoutes(ctx: ProxyContext): Router {
  const router = Router();
  // `github-copilot-svcs refresh` asks the running proxy to refresh, so the
  // next request uses the new token without a restart.
  router.post('/admin/refresh', loopbackOnly, async (_req, res) => {
    const snapshot = await ctx.tokens.refresh();
    ctx.models.invalidate();
    res.json(tokenJson(snapshot, Math.floor(ctx.now() / 1000)));
  });
  return router;
}
