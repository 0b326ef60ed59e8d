import type { RequestHandler } from 'express';
import { InvalidRequestError } from '../../errors.ts';

/** The proxy's routes and their methods: a known path with another method gets 405 and `Allow`, not 404. */
const ROUTE_METHODS: ReadonlyArray<readonly [RegExp, readonly string[]]> = [
  [/^\/(v1\/)?chat\/completions\/?$/, ['POST']],
  [/^\/(v1\/)?embeddings\/?$/, ['POST']],
  [/^\/(v1\/)?responses\/?$/, ['POST']],
  [/^\/(v1\/)?messages(\/count_tokens)?\/?$/, ['POST']],
  [/^\/(v1\/)?models(\/.+)?$/, ['GET', 'HEAD']],
  [/^\/(v1\/)?(health|usage)\/?$/, ['GET', 'HEAD']],
  [/^\/metrics\/?$/, ['GET', 'HEAD']],
  [/^\/admin\/refresh\/?$/, ['POST']],
];

/** Pure: the methods a path accepts, or null when the path is not a route. */
export function allowedMethods(path: string): readonly string[] | null {
  for (const [re, methods] of ROUTE_METHODS) if (re.test(path)) return methods;
  return null;
}

/** Registered after the routes, before the 404. */
export const methodNotAllowed: RequestHandler = (req, res, next) => {
  const allowed = allowedMethods(req.path);
  if (!allowed || allowed.includes(req.method)) {
    next();
    return;
  }
  res.setHeader('allow', allowed.join(', '));
  throw new InvalidRequestError(`${req.method} is not allowed on ${req.path}; use ${allowed.join(' or ')}`, { status: 405, code: 'method_not_allowed' });
};
