import type { RequestHandler } from 'express';
import { InvalidRequestError } from '../../errors.ts';

/**
 * POST routes take JSON only. A body with another content type (a web page's
 * `text/plain` or form POST, or `curl -d` without a header) is refused, never guessed.
 */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  if (!req.is(['application/json', '+json'])) {
    throw new InvalidRequestError('Content-Type must be application/json', { code: 'unsupported_media_type', status: 415 });
  }
  if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
    throw new InvalidRequestError('Request body must be a JSON object', { code: 'invalid_body' });
  }
  next();
};
