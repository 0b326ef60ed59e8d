import { Command } from 'commander';
import { openInBrowser } from '../auth/device-flow.ts';
import { dashboardUrlFor } from '../clients/setup.ts';
import { ExitError } from '../errors.ts';
import { addCommonOptions, commonFlags, withCliContext, type CliDeps, type CommonOptions } from './context.ts';
import { foreignHolderLine, otherProxyLine, proxyOrigin } from './proxy-client.ts';

export type DashboardOptions = CommonOptions & { browser?: boolean };

/** Opens the running proxy's dashboard in the browser (the tray's "Open dashboard"), and prints its address. */
export async function dashboard(options: DashboardOptions, deps: CliDeps & { openBrowser?: (url: string) => Promise<void> | void } = {}): Promise<void> {
  await withCliContext(deps, commonFlags(options), async (ctx) => {
    const holder = await ctx.portHolder();
    const where = proxyOrigin(ctx.config);
    if (holder.kind === 'other') throw new ExitError(otherProxyLine(holder.proxy, ctx.config.port), 1);
    if (holder.kind === 'foreign') throw new ExitError(foreignHolderLine(holder.detail, ctx.config.port), 1);
    const running = holder.kind === 'ours' ? holder.proxy : null;
    if (!running) {
      throw new ExitError(`No proxy is running on ${where}. Start it (${ctx.command} run, or the tray app), then open ${dashboardUrlFor(where)}`, 1);
    }
    const url = dashboardUrlFor(running.url);
    ctx.out(`Dashboard: ${url}`);
    if (options.browser !== false) {
      ctx.out('(opening your browser; if nothing opens, use the link above)');
      await (deps.openBrowser ?? openInBrowser)(url);
    }
  });
}

export function dashboardCommand(deps: CliDeps = {}): Command {
  const cmd = new Command('dashboard')
    .description('open the running proxy\'s dashboard (usage, live requests, models, client set-up) in the browser')
    .option('--no-browser', 'only print its address');
  return addCommonOptions(cmd).action(async (opts: DashboardOptions) => dashboard(opts, deps));
}
