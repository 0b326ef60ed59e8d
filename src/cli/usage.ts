import { Command } from 'commander';
import { ExitError } from '../errors.ts';
import { getCopilotUser, toUsageSummary } from '../upstream/github-client.ts';
import { usageSummarySchema, type UsageSummary } from '../usage/api.ts';
import { addCommonOptions, commonFlags, withCliContext, type CliDeps, type CommonOptions } from './context.ts';
import { formatCount, table } from './format.ts';
import { GROUP_BYS, parseSince, totalsBy, type GroupBy, type UsageTotals } from '../usage/record.ts';
import { readUsage, usageDir } from '../usage/store.ts';
import { proxyJson } from './proxy-client.ts';

export type UsageOptions = CommonOptions & { json?: boolean; since?: string; by?: string };

/** Pure: the local totals as a table. */
export function localUsageLines(totals: UsageTotals[], by: GroupBy, sinceText: string): string[] {
  if (totals.length === 0) return [`Local usage since ${sinceText}: no requests recorded`];
  const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
  const rows = totals.map((t) => [t.key, String(t.requests), `${fmt(t.premium)}${t.premiumUnknown ? ` (+${t.premiumUnknown} unknown)` : ''}`, String(t.promptTokens), String(t.completionTokens), String(t.errors)]);
  const sum = totals.reduce((a, t) => ({ requests: a.requests + t.requests, premium: a.premium + t.premium }), { requests: 0, premium: 0 });
  return [`Local usage since ${sinceText}, by ${by} (${sum.requests} requests, ${fmt(sum.premium)} premium):`, table([by, 'requests', 'premium', 'prompt tokens', 'completion tokens', 'errors'], rows, new Set([1, 2, 3, 4, 5]))];
}

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
  const by = GROUP_BYS.find((g) => g === (options.by ?? 'model'));
  if (!by) throw new ExitError(`--by must be one of ${GROUP_BYS.join(', ')}`, 2);
  const sinceText = options.since ?? '30d';
  const since = parseSince(sinceText, Date.now());
  if (since === null) throw new ExitError(`--since must be like 7d, 24h, 30m or a date such as 2026-11-01 (got "${sinceText}")`, 2);
  await withCliContext(deps, commonFlags(options), async (ctx) => {
    // The proxy's own records of what went through it (written within a second of each request).
    const totals = totalsBy(readUsage(usageDir(ctx.config.paths.dataDir), since), by);
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
    if (options.json) ctx.out(JSON.stringify({ ...summary, local: { since: new Date(since).toISOString(), by, totals } }, null, 2));
    else for (const line of [...usageLines(summary), '', ...localUsageLines(totals, by, sinceText)]) ctx.out(line);
  });
}

export function usageCommand(deps: CliDeps = {}): Command {
  const cmd = new Command('usage')
    .description('show the premium-request quota (entitlement, remaining, reset date) and the local record of requests: totals by model, client, day or initiator')
    .option('--json', 'print JSON')
    .option('--since <when>', 'local totals from: 7d, 24h, 30m or a date (default 30d)')
    .option('--by <group>', `group local totals by ${GROUP_BYS.join(', ')} (default model)`);
  return addCommonOptions(cmd).action(async (opts: UsageOptions) => usage(opts, deps));
}
