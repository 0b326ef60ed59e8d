import { Command } from 'commander';
import * as z from 'zod';
import { healthSentence, tokenJson, tokenJsonSchema, type TokenSnapshot } from '../auth/snapshot.ts';
import { addCommonOptions, commonFlags, withCliContext, type CliDeps, type CommonOptions } from './context.ts';
import { paint } from './format.ts';
import { proxyOrigin } from './proxy-client.ts';
import { ENV_GITHUB_TOKEN } from '../config/env.ts';
import { formatDuration } from '../text/duration.ts';
import { usageLimitLine, usageLimitSchema, type UsageLimit } from '../upstream/usage-limit.ts';
import { probeTrayHost, trayHostLine } from '../tray/tray-host.ts';

export interface StatusOptions extends CommonOptions {
  json?: boolean;
}

/** Everything `status` shows; the same whether it came from a running proxy or from the store. */
export interface StatusView {
  configFile: string;
  tokenFile: string;
  port: number;
  snapshot: TokenSnapshot;
  proxy: StatusJson['proxy'];
  /** Copilot's weekly or session limit, as the running proxy holds it. */
  limit: UsageLimit | null;
}

const STORE_TEXT: Record<TokenSnapshot['store'], string> = {
  keychain: 'OS keychain (service github-copilot-svcs)',
  file: 'file',
  env: `environment (${ENV_GITHUB_TOKEN}, never written)`,
  none: 'none',
};

/** The Go tool's status lines, then ours (store, app, API base, proxy). Every state has a `Status:` health line, in the tray's and /health's words. Pure. */
export function statusLines(view: StatusView, nowSec: number, colour: boolean, argv0 = 'github-copilot-svcs'): string[] {
  const s = view.snapshot;
  const lines = [`Configuration file: ${view.configFile}`, `Port: ${view.port}`];
  const healthColour = s.health === 'healthy' ? 'green' : s.health === 'refresh_soon' ? 'yellow' : 'red';
  const statusLine = `Status: ${paint(colour, healthColour, healthSentence(s, argv0))}`;
  // The Status line says what to run when signed out (healthSentence): said once.
  if (!s.hasGithubToken) {
    lines.push(`Authentication: ${paint(colour, 'red', '✗ Not authenticated')}`);
    lines.push(statusLine);
  } else if (s.state === 'needs_auth') {
    lines.push(`Authentication: ${paint(colour, 'red', '✗ GitHub rejected the GitHub token')}`);
    lines.push(statusLine);
    lines.push('Has GitHub token: true');
  } else {
    lines.push(`Authentication: ${paint(colour, 'green', '✓ Authenticated')}`);
    if (s.oauthApp === 'opencode') {
      lines.push('Token expires: never (the GitHub token is used directly)');
    } else if (s.expiresAt === null) {
      lines.push('Token expires: no Copilot token yet');
    } else {
      const left = s.expiresAt - nowSec;
      if (left > 0) lines.push(`Token expires: in ${formatDuration(left)} (${left} seconds)`);
      else lines.push(`Token expires: ${paint(colour, 'red', `⚠️  EXPIRED (${-left} seconds ago)`)}`);
    }
    lines.push(statusLine);
    lines.push('Has GitHub token: true');
    if (s.refreshIn !== null && s.refreshIn > 0) lines.push(`Refresh interval: ${s.refreshIn} seconds`);
  }
  lines.push(`Token store: ${s.store === 'file' ? `file (${view.tokenFile})` : STORE_TEXT[s.store]}`);
  lines.push(`OAuth app: ${s.oauthApp}`);
  lines.push(`API base: ${s.apiBase}`);
  lines.push(
    view.proxy.running
      ? `Proxy: ${paint(colour, 'green', 'running')} on ${view.proxy.url}${view.proxy.version ? ` (version ${view.proxy.version})` : ''}`
      : view.proxy.held_by_other
        ? `Proxy: ${paint(colour, 'yellow', `not running for this data dir; port ${view.port} is held by another data dir's proxy`)}${view.proxy.version ? ` (version ${view.proxy.version})` : ''}`
        : view.proxy.held_by_program !== null
          ? `Proxy: ${paint(colour, 'yellow', `not running; port ${view.port} is held by another program`)} (${view.proxy.held_by_program})`
          : `Proxy: not running on port ${view.port}`,
  );
  if (view.limit) lines.push(`Copilot limit: ${paint(colour, 'yellow', `⚠️  ${usageLimitLine(view.limit)}`)} (${view.limit.code})`);
  if (s.pendingSignIn) lines.push(`Sign in: open ${s.pendingSignIn.verificationUri} and enter the code ${s.pendingSignIn.userCode}`);
  if (s.lastError) lines.push(`Last error: ${s.lastError}`);
  return lines;
}

/** `status --json`: the token JSON that /health carries (auth/snapshot.ts), plus where things are. */
export const statusJsonSchema = z.object({
  config_file: z.string(),
  port: z.number(),
  token_file: z.string().nullable(),
  token: tokenJsonSchema,
  /**
   * running: this data dir's proxy answers on the port; held_by_other: another data dir's (or user's) proxy does, and was
   * not used; held_by_program: what another program on the port did instead of answering as a proxy (null: none there).
   */
  proxy: z.object({ running: z.boolean(), url: z.string(), version: z.string().nullable(), held_by_other: z.boolean(), held_by_program: z.string().nullable() }),
  limit: usageLimitSchema.nullable(),
});
export type StatusJson = z.infer<typeof statusJsonSchema>;

/** Pure. */
export function statusJson(view: StatusView, nowSec: number): StatusJson {
  return {
    config_file: view.configFile,
    port: view.port,
    token_file: view.snapshot.store === 'file' ? view.tokenFile : null,
    token: tokenJson(view.snapshot, nowSec),
    proxy: view.proxy,
    limit: view.limit,
  };
}

export async function status(options: StatusOptions, deps: CliDeps = {}): Promise<void> {
  await withCliContext(deps, commonFlags(options), async (ctx) => {
    const holder = await ctx.portHolder();
    const running = holder.kind === 'ours' ? holder.proxy : null;
    // This data dir's running proxy owns the token: ask it rather than reading the store (and probing a keychain).
    // Another data dir's proxy is never asked: its token is not ours.
    const snapshot = running ? running.snapshot : await (await ctx.tokens()).load();
    const view: StatusView = {
      configFile: ctx.config.paths.configFile,
      tokenFile: ctx.config.paths.tokenFile,
      port: ctx.config.port,
      snapshot,
      proxy: {
        running: running !== null,
        url: holder.kind === 'ours' || holder.kind === 'other' ? holder.proxy.url : proxyOrigin(ctx.config),
        version: holder.kind === 'ours' || holder.kind === 'other' ? holder.proxy.version : null,
        held_by_other: holder.kind === 'other',
        held_by_program: holder.kind === 'foreign' ? holder.detail : null,
      },
      limit: running?.limit ?? null,
    };
    const nowSec = Math.floor(Date.now() / 1000);
    if (options.json) ctx.out(JSON.stringify(statusJson(view, nowSec), null, 2));
    else for (const line of statusLines(view, nowSec, ctx.colour, ctx.command)) ctx.out(line);
    if (!options.json) ctx.out(trayHostLine(await probeTrayHost({ env: ctx.env }), ctx.env, ctx.command));
  });
}

export function statusCommand(deps: CliDeps = {}): Command {
  const cmd = new Command('status')
    .description('show sign-in and token health, the token store, and whether a proxy is running')
    .option('--json', 'print JSON for scripts');
  return addCommonOptions(cmd).action(async (opts: StatusOptions) => status(opts, deps));
}
