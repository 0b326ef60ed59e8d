import { Command } from 'commander';
import { HEALTH_TEXT, isSignedIn, snapshotFromJson, tokenJson, tokenJsonSchema, type TokenSnapshot } from '../auth/snapshot.ts';
import { ExitError, UpstreamNetworkError, UpstreamTimeoutError } from '../errors.ts';
import { addCommonOptions, commonFlags, withCliContext, type CliDeps, type CommonOptions } from './context.ts';
import { formatDuration } from '../text/duration.ts';
import { otherProxyLine, proxyJson } from './proxy-client.ts';
import { createTokenManager } from '../auth/token-manager.ts';
import { proxyFix, proxyForUrl } from '../upstream/proxy-env.ts';

export type RefreshOptions = CommonOptions & { json?: boolean };

/** Lines after a refresh; identical for the proxy's answer and a local refresh. Pure. */
export function refreshLines(s: TokenSnapshot, nowSec: number, via: string): string[] {
  const lines = [`Refreshed by ${via}.`];
  if (s.oauthApp === 'opencode') lines.push('Token expires: never (the GitHub token is used directly)');
  else if (s.expiresAt !== null) lines.push(`Token expires: in ${formatDuration(s.expiresAt - nowSec)} (${s.expiresAt - nowSec} seconds)`);
  lines.push(`Status: ${HEALTH_TEXT[s.health]}`);
  return lines;
}

/**
 * Force a refresh. With a proxy running, that proxy refreshes (POST
 * /admin/refresh, loopback only, answers a token-free snapshot), so its next
 * request uses the new token; else the stored tokens are refreshed here.
 */
export async function refresh(options: RefreshOptions, deps: CliDeps = {}): Promise<void> {
  await withCliContext(deps, commonFlags(options), async (ctx) => {
    const holder = await ctx.portHolder();
    if (holder.kind === 'other') ctx.err(`note: ${otherProxyLine(holder.proxy, ctx.config.port)}`);
    const running = holder.kind === 'ours' ? holder.proxy : null;
    let snapshot: TokenSnapshot;
    let via: string;
    let hint = '';
    if (running) {
      const json = await proxyJson(running, ctx.loopback(), '/admin/refresh', { method: 'POST', ...(ctx.config.api_key ? { apiKey: ctx.config.api_key } : {}) });
      const parsed = tokenJsonSchema.safeParse(json);
      if (!parsed.success) throw new ExitError(`The proxy at ${running.url} gave an unexpected answer to /admin/refresh`, 1);
      snapshot = snapshotFromJson(parsed.data);
      via = `the running proxy on ${running.url}`;
    } else {
      // Tried once, no retry waits (2 + 8 + 18 s for a proxy that ran all day) and no "trying again in 60 s":
      // someone is waiting at the terminal, and the error below says it once.
      const tm = createTokenManager({ config: ctx.config, store: await ctx.store(), dispatcher: ctx.dispatcher, log: ctx.log, env: ctx.env, command: ctx.command, oneShot: true });
      try {
        const before = await tm.load();
        if (!before.hasGithubToken) throw new ExitError(`Not signed in to GitHub Copilot. Run '${ctx.command} auth' first.`, 1);
        snapshot = await tm.refresh();
        via = before.store === 'env' ? 'this command (token from the environment, nothing saved)' : `this command (saved to the ${before.store === 'keychain' ? 'OS keychain' : 'token file'})`;
        // Through an HTTP(S) proxy, that proxy is the first suspect when GitHub was not reached (auth and doctor say the same).
        const failure = tm.lastFailure();
        const route = proxyForUrl(ctx.config.github_api_url, ctx.env);
        if ((failure instanceof UpstreamNetworkError || failure instanceof UpstreamTimeoutError) && route.proxy) {
          const host = new URL(ctx.config.github_api_url).host;
          hint = `\nAsked ${host} ${route.why}: ${proxyFix(route, host)} ('${ctx.command} doctor' checks each host).`;
        }
      } finally {
        tm.stop();
      }
    }
    if (options.json) ctx.out(JSON.stringify(tokenJson(snapshot, Math.floor(Date.now() / 1000)), null, 2));
    if (snapshot.state !== 'ok') {
      const why = snapshot.lastError ?? (snapshot.hasGithubToken ? 'unknown error' : 'not signed in');
      throw new ExitError(`Refresh failed: ${why}${hint}${!isSignedIn(snapshot) ? `\nRun '${ctx.command} auth' to sign in again.` : ''}`, 1);
    }
    if (!options.json) for (const line of refreshLines(snapshot, Math.floor(Date.now() / 1000), via)) ctx.out(line);
  });
}

export function refreshCommand(deps: CliDeps = {}): Command {
  const cmd = new Command('refresh')
    .description('refresh the Copilot token now (through the running proxy when there is one)')
    .option('--json', 'print the resulting token state as JSON (never the token)');
  return addCommonOptions(cmd).action(async (opts: RefreshOptions) => refresh(opts, deps));
}
