import * as z from 'zod';
import { ExitError } from '../../errors.ts';
import { multiplierOf } from '../../usage/record.ts';

/**
 * A model list as rows (the CLI's `models` table and the dashboard's models
 * table): the OpenAI list shape /v1/models answers, with Copilot's fields
 * under extra keys, read defensively. Pure.
 */

export interface ModelRow {
  id: string;
  vendor: string | null;
  name: string | null;
  contextWindow: number | null;
  maxOutput: number | null;
  toolCalls: boolean | null;
  vision: boolean | null;
  premiumMultiplier: number | null;
  enabled: boolean | null;
}

// The OpenAI list item with Copilot's fields under extra keys, read defensively: any of them may be missing.
const item = z.object({
  id: z.string(),
  vendor: z.string().optional().catch(undefined),
  name: z.string().optional().catch(undefined),
  model_picker_enabled: z.boolean().optional().catch(undefined),
  policy: z.object({ state: z.string().optional() }).optional().catch(undefined),
  billing: z.object({ is_premium: z.boolean().optional(), multiplier: z.number().optional() }).optional().catch(undefined),
  capabilities: z
    .object({
      limits: z.object({ max_context_window_tokens: z.number().optional(), max_output_tokens: z.number().optional() }).optional().catch(undefined),
      supports: z.object({ tool_calls: z.boolean().optional(), vision: z.boolean().optional() }).optional().catch(undefined),
    })
    .optional()
    .catch(undefined),
});
const list = z.object({ data: z.array(z.unknown()) });

/** OpenAI-shaped list (from the proxy, or built here the same way) → rows. Pure. */
export function toModelRows(json: unknown): ModelRow[] {
  const l = list.safeParse(json);
  if (!l.success) throw new ExitError('Unexpected model list (no data array)', 1);
  const rows: ModelRow[] = [];
  for (const raw of l.data.data) {
    const m = item.safeParse(raw);
    if (!m.success) continue;
    const d = m.data;
    const policy = d.policy?.state;
    rows.push({
      id: d.id,
      vendor: d.vendor ?? null,
      name: d.name ?? null,
      contextWindow: d.capabilities?.limits?.max_context_window_tokens ?? null,
      maxOutput: d.capabilities?.limits?.max_output_tokens ?? null,
      toolCalls: d.capabilities?.supports?.tool_calls ?? null,
      vision: d.capabilities?.supports?.vision ?? null,
      premiumMultiplier: multiplierOf(d.billing),
      // Usable by this user: Copilot attaches a policy only to models that need enabling (terms); no policy = available.
      // (model_picker_enabled only says whether VS Code lists it in its picker.)
      enabled: policy !== undefined ? policy === 'enabled' : true,
    });
  }
  return rows;
}

