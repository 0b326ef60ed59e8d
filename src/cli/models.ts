import { Command } from 'commander';
import { toOpenAIModelList, allowedModels } from '../proxy/transform/models.ts';
import { listModels } from '../upstream/copilot-client.ts';
import { addCommonOptions, commonFlags, withCliContext, type CliDeps, type CommonOptions } from './context.ts';
import { formatCount, table } from './format.ts';
import { proxyJson } from './proxy-client.ts';
import { toModelRows, type ModelRow } from '../proxy/transform/model-rows.ts';

export type ModelsOptions = CommonOptions & { json?: boolean };

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
