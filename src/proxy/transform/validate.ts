import type * as z from 'zod';
import { InvalidRequestError } from '../../errors.ts';

type Issue = z.core.$ZodIssue;

/**
 * The most useful description of an issue. A union that failed reports only
 * "Invalid input" at its own path; the branch that got furthest (e.g. the
 * array branch of `string | Block[]`, failing at block 3) says what is wrong.
 */
function explain(issue: Issue): { path: PropertyKey[]; message: string } {
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    let best: { path: PropertyKey[]; message: string } | undefined;
    for (const branch of issue.errors) {
      const first = branch[0];
      if (!first) continue;
      const e = explain(first);
      if (!best || e.path.length > best.path.length) best = e;
    }
    if (best && best.path.length > 0) return { path: [...issue.path, ...best.path], message: best.message };
  }
  return { path: issue.path, message: issue.message };
}

/** Validate a request body; the first problem becomes a 400 naming the param (e.g. `messages.0.content`). */
export function parseOrThrow<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  if (!issue) throw new InvalidRequestError('invalid request body');
  const { path, message } = explain(issue);
  const param = path.map(String).join('.') || null;
  throw new InvalidRequestError(`${param ? `${param}: ` : ''}${message}`, { param });
}
