// Small type guards for reading request bodies without `as` casts.

export type JsonRecord = Record<string, unknown>;

export function isRecord(v: unknown): v is JsonRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(o: unknown, key: string): string | undefined {
  if (!isRecord(o)) return undefined;
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

export function num(o: unknown, key: string): number | undefined {
  if (!isRecord(o)) return undefined;
  const v = o[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function bool(o: unknown, key: string): boolean | undefined {
  if (!isRecord(o)) return undefined;
  const v = o[key];
  return typeof v === 'boolean' ? v : undefined;
}

export function arr(o: unknown, key: string): unknown[] | undefined {
  if (!isRecord(o)) return undefined;
  const v = o[key];
  return Array.isArray(v) ? v : undefined;
}

export function rec(o: unknown, key: string): JsonRecord | undefined {
  if (!isRecord(o)) return undefined;
  const v = o[key];
  return isRecord(v) ? v : undefined;
}

/** Lowercased, single-valued header record from node's IncomingHttpHeaders. */
export function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}
