import type { CopilotModel } from '../../upstream/copilot-client.ts';

/**
 * Model names as clients send them -> the Copilot model. Pure. The order:
 * `model_map` (always wins), the exact id, a dated or `-latest` Claude name
 * (`claude-sonnet-4-20250514`, `claude-3-7-sonnet-latest`), then, when
 * `model_fallback` allows, the newest available model of the same Claude
 * family (opus, sonnet, haiku), then of the nearest family. Anything else
 * resolves to nothing, and the caller answers 404 listing the ids.
 *
 * Every lookup goes through a Map: `constructor`, `__proto__` and `toString`
 * are ordinary names here, never object members.
 */

export type ResolvedVia = 'exact' | 'map' | 'dated' | 'fallback';

export type Resolution =
  | { kind: 'found'; id: string; model: CopilotModel | undefined; via: ResolvedVia }
  | { kind: 'not_found'; requested: string; available: string[] };

export interface ResolveOptions {
  modelMap: ReadonlyMap<string, string>;
  fallback: boolean;
  /** Chat models are resolved for chat-ish routes; embeddings models for /embeddings. */
  type: 'chat' | 'embeddings';
}

const CLAUDE_FAMILIES = ['opus', 'sonnet', 'haiku'] as const;
type ClaudeFamily = (typeof CLAUDE_FAMILIES)[number];
const NEAREST: Record<ClaudeFamily, ClaudeFamily[]> = { opus: ['sonnet', 'haiku'], sonnet: ['opus', 'haiku'], haiku: ['sonnet', 'opus'] };

/** `claude-3.7-sonnet`, `claude-3-7-sonnet-latest` and `claude-3-7-sonnet-20250219` all become `claude-37-sonnet`. */
export function canonicalName(name: string): string {
  let s = name.toLowerCase().trim();
  s = s.replace(/-latest$/, '').replace(/-\d{8}$/, '').replace(/@\d{8}$/, '');
  let prev;
  do {
    prev = s;
    s = s.replace(/(\d)[.-](\d)/, '$1$2');
  } while (s !== prev);
  return s;
}

/** What a Claude model id looks like (`claude-opus-4-6`, `claude-3-opus-20240229`, `claude-sonnet-4.5@20250929`): family fallback takes nothing else. */
const CLAUDE_ID = /^claude-[a-z0-9][a-z0-9.-]{0,62}(@\d{8})?$/;

function claudeFamily(name: string): ClaudeFamily | undefined {
  const n = name.toLowerCase();
  if (!CLAUDE_ID.test(n)) return undefined;
  return CLAUDE_FAMILIES.find((f) => n.includes(f));
}

/**
 * Version numbers in an id, for "newest": `claude-sonnet-4.5` -> [4, 5]; `claude-3.7-sonnet` -> [3, 7].
 * Copilot writes some Claude versions without a separator: `claude-opus-41` is Opus 4.1 (listed
 * beside `claude-opus-4.5`), so a two-digit run is major.minor. Read as 41 it outranked 4.5 and every
 * unknown Opus name (`claude-opus-4-6`, `claude-3-opus-20240229`) went to Opus 4.1.
 */
export function versionOf(id: string): number[] {
  const runs = id.toLowerCase().replace(/[-@]\d{8}$/, '').match(/\d+/g) ?? [];
  return runs.flatMap((r) => (r.length === 2 ? [Number(r[0]), Number(r[1])] : [Number(r)]));
}

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function usable(m: CopilotModel, type: ResolveOptions['type']): boolean {
  const t = m.capabilities?.type;
  if (type === 'embeddings') return t === 'embeddings';
  return t === undefined || t === 'chat';
}

export function resolveModel(requested: string, models: readonly CopilotModel[], opts: ResolveOptions): Resolution {
  const byId = new Map(models.map((m) => [m.id, m]));
  const mapped = opts.modelMap.get(requested);
  if (mapped !== undefined) return { kind: 'found', id: mapped, model: byId.get(mapped), via: 'map' };
  const exact = byId.get(requested);
  if (exact) return { kind: 'found', id: exact.id, model: exact, via: 'exact' };

  const candidates = models.filter((m) => usable(m, opts.type));
  const canonical = canonicalName(requested);
  const dated = candidates.find((m) => canonicalName(m.id) === canonical);
  if (dated) return { kind: 'found', id: dated.id, model: dated, via: 'dated' };

  const family = claudeFamily(requested);
  if (opts.fallback && family && opts.type === 'chat') {
    for (const f of [family, ...NEAREST[family]]) {
      const newest = candidates
        .filter((m) => claudeFamily(m.id) === f && m.policy?.state !== 'disabled')
        .sort((a, b) => compareVersions(versionOf(b.id), versionOf(a.id)))[0];
      if (newest) return { kind: 'found', id: newest.id, model: newest, via: 'fallback' };
    }
  }
  return { kind: 'not_found', requested, available: candidates.map((m) => m.id) };
}
