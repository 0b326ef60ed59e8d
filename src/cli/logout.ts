import { Command } from 'commander';
import { tokenJsonSchema } from '../auth/snapshot.ts';
import { ENV_GITHUB_TOKEN } from '../config/env.ts';
import type { ResolvedConfig } from '../config/schema.ts';
import { ExitError } from '../errors.ts';
import { addCommonOptions, commonFlags, withCliContext, type CliContext, type CliDeps, type CommonOptions } from './context.ts';
import { paint } from './format.ts';
import { otherProxyLine, proxyJson } from './proxy-client.ts';

export type LogoutOptions = CommonOptions;

/** Where the user revokes the OAuth app's authorisation on GitHub (github.com, or the enterprise's own host). Pure. */
export function revokeUrl(config: Pick<ResolvedConfig, 'enterprise_url'>): string {
  const host = config.enterprise_url ? config.enterprise_url.replace(/^https?:\/\//, '').replace(/\/+$/, '') : 'github.com';
  return `https://${host}/settings/applications`;
}

/** The OAuth app as GitHub lists it under "Authorized OAuth Apps". */
const APP_TITLE = { vscode: 'Visual Studio Code', opencode: 'opencode' } as const;

/** The lines that say how to end the authorisation on GitHub too (signing out here only forgets the token). Pure. */
export function revokeLines(config: Pick<ResolvedConfig, 'enterprise_url' | 'oauth_app'>): string[] {
  return [
    `The authorisation stays on GitHub until you revoke it: open ${revokeUrl(config)}, tab "Authorized OAuth Apps",`,
    `and revoke "${APP_TITLE[config.oauth_app]}" (other tools signed in with that app are signed out too).`,
  ];
}

/**
 * Sign out: this data dir's running proxy forgets the tokens at once (POST
 * /admin/sign-out, so it answers needs_auth), then the store is cleared here
 * too (OS keychain entry and token file), and a pending sign-in is cancelled.
 */
export async function signOutHere(ctx: CliContext): Promise<{ via: string; removed: boolean }> {
  const holder = await ctx.portHolder();
  if (holder.kind === 'other') ctx.err(`note: ${otherProxyLine(holder.proxy, ctx.config.port)}`);
  let via = 'this command';
  let removed = false;
  if (holder.kind === 'ours') {
    removed = holder.proxy.snapshot.hasGithubToken && holder.proxy.snapshot.store !== 'env';
    const json = await proxyJson(holder.proxy, ctx.loopback(), '/admin/sign-out', { method: 'POST', ...(ctx.config.api_key ? { apiKey: ctx.config.api_key } : {}) });
    const parsed = tokenJsonSchema.safeParse(json);
    if (!parsed.success || parsed.data.signed_in) throw new ExitError(`The running proxy on ${holder.proxy.url} did not sign out; stop it and run this again`, 1);
    via = `the running proxy on ${holder.proxy.url} and this command`;
  }
  const tm = await ctx.tokens();
  const before = await tm.load();
  await tm.signOut();
  return { via, removed: removed || (before.hasGithubToken && before.store !== 'env') };
}

export async function logout(options: LogoutOptions, deps: CliDeps = {}): Promise<void> {
  await withCliContext(deps, commonFlags(options), async (ctx) => {
    const store = await ctx.store();
    const { via, removed } = await signOutHere(ctx);
    const where = store.kind === 'keychain' ? `the OS keychain and ${ctx.config.paths.tokenFile}` : ctx.config.paths.tokenFile;
    if (removed) ctx.out(paint(ctx.colour, 'green', `✓ Signed out: the tokens were removed from ${where} (by ${via}).`));
    else ctx.out(`Not signed in: no tokens in ${where}; nothing to remove.`);
    for (const line of revokeLines(ctx.config)) ctx.out(line);
    if (ctx.env[ENV_GITHUB_TOKEN]) ctx.err(`note: ${ENV_GITHUB_TOKEN} is set: commands and proxies started with it stay signed in until it is unset.`);
  });
}

export function logoutCommand(deps: CliDeps = {}): Command {
  const cmd = new Command('logout')
    .description('sign out: remove the tokens from the OS keychain and the token file, cancel a pending sign-in, and sign out the running proxy');
  return addCommonOptions(cmd).action(async (opts: LogoutOptions) => logout(opts, deps));
}
