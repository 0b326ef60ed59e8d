import { Command } from 'commander';
import { z } from 'zod';
import { ExitError } from '../errors.ts';
import { toOpenAIModelList, allowedModels } from '../proxy/transform/models.ts';
import { listModels } from '../upstream/copilot-client.ts';
import { addCommonOptions, commonFlags, withCliContext, type CliDeps, type CommonOptions } from './context.ts';
import { formatCount, table } from './format.ts';
import { proxyJson } from './proxy-client.ts';
import { multiplierOf } from '../usage/record.ts';

export type ModelsOptions = CommonOptions & { json?: boolean };

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

const yn = (b: boolean | null) => (b === null ? '-' : b ? 'yes' : 'no');

export function modelsTable(rows: ModelRow[]): string {
  return table(
    ['ID', 'VENDOR', 'NAME', 'CONTEXT', 'MAX OUTPUT', 'TOOLS', 'VISION', 'PREMIUM', 'ENABLED'],
    rows.map((r) => [
      r.id,
      r.vendor ?? '-',
      r.name ?? '-',
      formatCount(r.contextWindow),
      formatCount(r.maxOutput),
      yn(r.toolCalls),
      yn(r.vision),
      r.premiumMultiplier === null ? '-' : `${r.premiumMultiplier}x`,
      yn(r.enabled),
    ]),
    new Set([3, 4, 7]),
  );
}

export async function models(options: ModelsOptions, deps: CliDeps = {}): Promise<void> {
  await withCliContext(deps, commonFlags(options), async (ctx) => {
    const running = await ctx.proxy();
    let json: unknown;
    if (running) {
      json = await proxyJson(running, ctx.loopback(), '/v1/models', ctx.config.api_key ? { apiKey: ctx.config.api_key } : {});
    } else {
      const tm = await ctx.tokens();
      const dispatcher = ctx.dispatcher();
      let auth = await tm.getAuth();
      let list;
      try {
        list = await listModels(dispatcher, { auth }, ctx.config.headers);
      } catch (err) {
        // A 401 from Copilot: refresh once and retry, as the proxy does.
        if (!(err instanceof Error && 'status' in err && err.status === 401)) throw err;
        auth = await tm.handleUnauthorized(auth);
        list = await listModels(dispatcher, { auth }, ctx.config.headers);
      }
      json = toOpenAIModelList(allowedModels(list, ctx.config.allowed_models));
    }
    const rows = toModelRows(json);
    if (options.json) ctx.out(JSON.stringify(rows, null, 2));
    else ctx.out(modelsTable(rows));
  });
}

export function modelsCommand(deps: CliDeps = {}): Command {
  const cmd = new Command('models')
    .description('list the Copilot models: id, vendor, name, context window, max output, tool calls, vision, premium multiplier, enabled')
    .option('--json', 'print JSON');
  return addCommonOptions(cmd).action(async (opts: ModelsOptions) => models(opts, deps));
}
