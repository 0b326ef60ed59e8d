import * as z from 'zod';

/**
 * The one rule for "not set": an empty string and `null` mean unset for every
 * key, wherever it comes from (the Go tool writes every field, empty ones
 * included: `"copilot_token": ""`, `"allowed_models": null`).
 */
export function isUnset(v: unknown): v is '' | null | undefined {
  return v === undefined || v === null || v === '';
}

/** `schema`, with "" and null read as undefined. */
export function unsetAware<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (isUnset(v) ? undefined : v), schema.optional());
}

/**
 * The Go tool's numbers use 0 for "none" (`expires_at: 0`, a timeout of 0 =
 * its default): for those keys 0 is unset too.
 */
export function zeroAsUnset<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => (isUnset(v) || v === 0 ? undefined : v), schema.optional());
}
