import { Command } from 'commander';
import { z } from 'zod';
import { ExitError } from '../errors.ts';
import { getCopilotUser, toUsageSummary, type UsageSummary } from '../upstream/github-client.ts';
import { addCommonOptions, commonFlags, withCliContext, type CliDeps, type CommonOptions } from './context.ts';
import { formatCount } from './format.ts';
import { proxyJson } from './proxy-client.ts';

export type UsageOptions = CommonOptions & { json?: boolean };

const usageSummarySchema = z.object({
  plan: z.string().nullable(),
  entitlement: z.number().nullable(),
  remaining: z.number().nullable(),
  percentRemaining: z.number().nullable(),
  unlimited: z.boolean(),
  resetDate: z.string().nullable(),
});

/** Pure. */
export function usageLines(u: UsageSummary): string[] {
  const lines = [`Plan: ${u.plan ?? 'unknown'}`];
  if (u.unlimited) lines.push('Premium requests: unlimited');
  else {
    lines.push(`Premium requests: ${formatCount(u.remaining)} of ${formatCount(u.entitlement)} remaining${u.percentRemaining === null ? '' : ` (${u.percentRemaining}%)`}`);
  }
  lines.push(`Resets: ${u.resetDate ?? 'unknown'}`);
  return lines;
}

/** Premium-request quota from GitHub (`/copilot_internal/user`), through the running proxy's /usage when there is one. */
export async function usage(options: UsageOptions, deps: CliDeps = {}): Promise<void> {
  await withCliContext(deps, commonFlags(options), async (ctx) => {
    const running = await ctx.proxy();
    let summary: UsageSummary;
    if (running) {
      const json = await proxyJson(running, ctx.loopback(), '/usage', ctx.config.api_key ? { apiKey: ctx.config.api_key } : {});
      const parsed = usageSummarySchema.safeParse(json);
      if (!parsed.success) throw new ExitError(`The proxy at ${running.url} gave an unexpected answer to /usage`, 1);
      summary = parsed.data;
    } else {
      const tm = await ctx.tokens();
      const githubToken = await tm.getGithubToken();
      summary = toUsageSummary(await getCopilotUser({ dispatcher: ctx.dispatcher(), config: ctx.config }, githubToken));
    }
    if (options.json) ctx.out(JSON.stringify(summary, null, 2));
    else for (const line of usageLines(summary)) ctx.out(line);
  });
}

export function usageCommand(deps: CliDeps = {}): Command {
  const cmd = new Command('usage').description('show the premium-request quota: entitlement, remaining, percent, reset date').option('--json', 'print JSON');
  return addCommonOptions(cmd).action(async (opts: UsageOptions) => usage(opts, deps));
}
