import { Command } from 'commander';
import { ExitError } from '../errors.ts';
import { getCopilotUser, toUsageSummary } from '../upstream/github-client.ts';
import { creditsLine, creditsThisMonth, formatCredits, monthlyAllowance, usageBodySchema, usageSummarySchema, type Credits, type UsageSummary } from '../usage/api.ts';
import { addCommonOptions, commonFlags, withCliContext, type CliDeps, type CommonOptions } from './context.ts';
import { formatCount, table } from './format.ts';
import { GROUP_BYS, creditMonthOf, creditsOf, parseSince, sinceWords, sumTotals, totalOf, totalsBy, type GroupBy, type UsageTotals } from '../usage/record.ts';
import { readUsage, usageDir } from '../usage/store.ts';
import { proxyJson } from './proxy-client.ts';

export type UsageOptions = CommonOptions & { json?: boolean; since?: string; by?: string };

/** A credits cell: exact and estimated (~) credits, and how many requests' cost is unknown. */
function creditsCell(t: Pick<UsageTotals, 'nanoAiu' | 'nanoAiuEstimated' | 'creditsUnknown'>): string {
  const known = t.nanoAiu > 0 || t.creditsUnknown === 0 ? `${t.nanoAiuEstimated > 0 ? '~' : ''}${formatCredits(creditsOf(t.nanoAiu))}` : '?';
  return `${known}${t.creditsUnknown && t.nanoAiu > 0 ? ` (+${t.creditsUnknown} unknown)` : ''}`;
}

/** Pure: the local totals as a table. AI credits first (what most plans bill in since June 2026); premium requests where Copilot still counts them. */
export function localUsageLines(totals: UsageTotals[], by: GroupBy, sinceText: string): string[] {
  if (totals.length === 0) return [`Local usage (${sinceWords(sinceText)}): no requests recorded`];
  const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
  const rows = totals.map((t) => [
    t.key,
    String(t.requests),
    creditsCell(t),
    `${fmt(t.premium)}${t.premiumUnknown ? ` (+${t.premiumUnknown} unknown)` : ''}`,
    String(t.promptTokens),
    String(t.cachedTokens),
    String(t.completionTokens),
    String(t.errors),
  ]);
  const all = sumTotals(totals);
  return [
    `Local usage (${sinceWords(sinceText)}), by ${by} (${all.requests} requests, ${creditsCell(all)} AI credits, ${fmt(all.premium)} premium requests):`,
    table([by, 'requests', 'AI credits', 'premium', 'input tokens', 'cached', 'output tokens', 'errors'], rows, new Set([1, 2, 3, 4, 5, 6, 7])),
  ];
}

/** Pure. */
export function usageLines(u: UsageSummary, credits?: Pick<Credits, 'month' | 'allowance' | 'resetsAt' | 'allowanceSource'>): string[] {
  const lines = [`Plan: ${u.plan ?? 'unknown'}`];
  if (credits) lines.push(`${creditsLine(credits)}${credits.allowanceSource === 'config' ? ' (allowance from monthly_credits)' : ''}`);
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
    const dir = usageDir(ctx.config.paths.dataDir);
    const now = Date.now();
    const totals = totalsBy(readUsage(dir, since), by);
    // This UTC month's credits from the same records (the allowance resets 00:00 UTC on the 1st).
    const month = totalOf(readUsage(dir, creditMonthOf(now).start));
    const running = await ctx.proxy();
    let summary: UsageSummary | null = null;
    let quotaError: string | null = null;
    try {
      if (running) {
        const json = await proxyJson(running, ctx.loopback(), '/usage', ctx.config.api_key ? { apiKey: ctx.config.api_key } : {});
        const parsed = usageSummarySchema.extend({ quotaError: usageBodySchema.shape.quotaError.optional() }).safeParse(json);
        if (!parsed.success) throw new ExitError(`The proxy at ${running.url} gave an unexpected answer to /usage`, 1);
        if (parsed.data.quotaError) quotaError = parsed.data.quotaError;
        else summary = parsed.data;
      } else {
        const tm = await ctx.tokens();
        const githubToken = await tm.getGithubToken();
        summary = toUsageSummary(await getCopilotUser({ dispatcher: ctx.dispatcher(), config: ctx.config }, githubToken));
      }
    } catch (err) {
      // The local records need no token: signed out, or with GitHub down, they are still shown.
      if (err instanceof ExitError) throw err;
      quotaError = err instanceof Error ? err.message : String(err);
    }
    const credits = creditsThisMonth([month], now, monthlyAllowance(ctx.config.monthly_credits, summary?.plan ?? null));
    if (options.json) ctx.out(JSON.stringify({ ...(summary ?? {}), quotaError, credits, local: { since: new Date(since).toISOString(), by, totals } }, null, 2));
    else {
      const head = summary ? usageLines(summary, credits) : [`Quota: unavailable (${quotaError ?? 'unknown'})`, creditsLine(credits)];
      for (const line of [...head, '', ...localUsageLines(totals, by, sinceText)]) ctx.out(line);
    }
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
