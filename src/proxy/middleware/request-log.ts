import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../../log.ts';
import type { ProxyStats } from '../context.ts';

/** What a route tells the request log about itself (never bodies, never tokens). */
export interface RequestLogFields {
  requestId: string;
  startedAt: number;
  model?: string;
  streamed?: boolean;
  ttfbMs?: number;
  promptTokens?: number;
  completionTokens?: number;
}

export function logFields(res: { locals: Record<string, unknown> }): RequestLogFields {
  return res.locals.req as RequestLogFields;
}

const VALID_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives each request an id (the client's X-Request-Id when sane, echoed back
 * and sent upstream) and writes one line when the response ends or the client goes away.
 */
export function requestLog(log: Logger, stats: ProxyStats, now: () => number = Date.now): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const fields: RequestLogFields = { requestId: incoming && VALID_ID.test(incoming) ? incoming : randomUUID(), startedAt: now() };
    res.locals.req = fields;
    res.setHeader('x-request-id', fields.requestId);
    stats.inFlight += 1;
    stats.requestsTotal += 1;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      stats.inFlight -= 1;
      const ms = now() - fields.startedAt;
      const status = res.writableFinished ? res.statusCode : `${res.statusCode}(client-closed)`;
      const parts = [`${req.method} ${req.originalUrl.split('?')[0]}`, `status=${status}`, `ms=${ms}`];
      if (fields.model) parts.push(`model=${fields.model}`);
      if (fields.streamed !== undefined) parts.push(`streamed=${fields.streamed}`);
      if (fields.ttfbMs !== undefined) parts.push(`ttfb=${fields.ttfbMs}`);
      if (fields.promptTokens !== undefined || fields.completionTokens !== undefined)
        parts.push(`tokens=${fields.promptTokens ?? '?'}+${fields.completionTokens ?? '?'}`);
      parts.push(`id=${fields.requestId}`);
      log.info(parts.join(' '));
    };
    res.on('finish', finish);
    res.on('close', finish);
    next();
  };
}
