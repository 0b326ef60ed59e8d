import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline/promises';
import { Command } from 'commander';
import { KEYCHAIN_ACCOUNT, KEYCHAIN_SERVICE } from '../auth/token-store.ts';
import { ExitError } from '../errors.ts';
import { cacheBase } from '../runtime/sea-assets.ts';
import { isSea } from '../runtime/self.ts';
import { autostartStatus, disableAutostart } from '../tray/autostart.ts';
import { addCommonOptions, commonFlags, withCliContext, type CliDeps, type CommonOptions } from './context.ts';
import { revokeLines, signOutHere } from './logout.ts';

export type UninstallOptions = CommonOptions & { dryRun?: boolean; yes?: boolean };

/**
 * What this program keeps in its data dir. Only these are removed: the data
 * dir may be one the user chose (GITHUB_COPILOT_SVCS_HOME) and hold other files.
 */
const DATA_DIR_ENTRY = /^(config\.json|tokens\.json|github-copilot-svcs(\.\d+)?\.log|usage|.*\.tmp)$/;

export interface UninstallPlan {
  autostart: { location: string; enabled: boolean };
  keychain: string;
  dataDir: { dir: string; ours: string[]; others: string[] };
  cacheDir: { dir: string; present: boolean };
}

/** The data dir's entries, split into ours (removed) and the rest (kept). */
export function splitDataDir(names: readonly string[]): { ours: string[]; others: string[] } {
  const ours = names.filter((n) => DATA_DIR_ENTRY.test(n)).sort();
  return { ours, others: names.filter((n) => !DATA_DIR_ENTRY.test(n)).sort() };
}

/** The plan as lines, for --dry-run and before asking. Pure. */
export function planLines(p: UninstallPlan): string[] {
  const lines = ['This removes:'];
  lines.push(`  - start at login: ${p.autostart.enabled ? p.autostart.location : `none (${p.autostart.location} not present)`}`);
  lines.push(`  - the tokens: ${p.keychain} and the token file, and a pending sign-in`);
  if (p.dataDir.ours.length > 0) lines.push(`  - in the data dir ${p.dataDir.dir}: ${p.dataDir.ours.join(', ')} (config, usage history, logs)`);
  else lines.push(`  - the data dir ${p.dataDir.dir}: nothing of ours there`);
  if (p.dataDir.others.length > 0) lines.push(`    kept there (not ours): ${p.dataDir.others.join(', ')}`);
  lines.push(`  - the cache dir: ${p.cacheDir.present ? p.cacheDir.dir : `none (${p.cacheDir.dir} not present)`}`);
  return lines;
}

function readNames(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** How to remove the program itself, which this command does not do. */
function programLines(): string[] {
  return isSea()
    ? [`To remove the program itself, delete ${process.execPath}.`]
    : ['To remove the program itself: npm uninstall -g github-copilot-svcs (or delete the checkout).'];
}

async function confirm(prompt: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(prompt)).trim());
  } finally {
    rl.close();
  }
}

/**
 * `uninstall`: the autostart entry, the tokens (keychain and file), this data
 * dir's files, the cache dir (the binary's extracted helpers); then how to
 * revoke the app on GitHub and remove the program. `--dry-run` only lists.
 */
export async function uninstall(options: UninstallOptions, deps: CliDeps & { isTTY?: boolean } = {}): Promise<void> {
  await withCliContext(deps, commonFlags(options), async (ctx) => {
    const dataDir = ctx.config.paths.dataDir;
    const auto = await autostartStatus({ env: ctx.env });
    const plan: UninstallPlan = {
      autostart: { location: auto.location, enabled: auto.enabled },
      keychain: `the OS keychain entry (service ${KEYCHAIN_SERVICE}, account ${KEYCHAIN_ACCOUNT})`,
      dataDir: { dir: dataDir, ...splitDataDir(readNames(dataDir)) },
      cacheDir: { dir: cacheBase(ctx.env), present: fs.existsSync(cacheBase(ctx.env)) },
    };
    for (const line of planLines(plan)) ctx.out(line);
    if (options.dryRun) {
      ctx.out('(dry run: nothing was changed)');
      for (const line of [...revokeLines(ctx.config), ...programLines()]) ctx.out(line);
      return;
    }
    const holder = await ctx.portHolder();
    if (holder.kind === 'ours') {
      throw new ExitError(`This data dir's proxy is running on ${holder.proxy.url}: quit the tray (or stop \`run\`) first, then run this again. Nothing was changed.`, 1);
    }
    if (!options.yes) {
      const tty = deps.isTTY ?? process.stdin.isTTY === true;
      if (!tty) throw new ExitError('Add --yes to remove these (or --dry-run to only list them). Nothing was changed.', 2);
      if (!(await confirm('Remove them? [y/N] '))) throw new ExitError('Nothing was changed.', 1);
    }

    if (plan.autostart.enabled) {
      await disableAutostart({ env: ctx.env });
      ctx.out(`removed start at login (${plan.autostart.location})`);
    }
    await signOutHere(ctx);
    ctx.out('removed the tokens (OS keychain entry and token file)');
    for (const name of plan.dataDir.ours) fs.rmSync(path.join(dataDir, name), { recursive: true, force: true });
    if (plan.dataDir.ours.length > 0) ctx.out(`removed ${plan.dataDir.ours.join(', ')} from ${dataDir}`);
    if (readNames(dataDir).length === 0 && fs.existsSync(dataDir)) {
      fs.rmdirSync(dataDir);
      ctx.out(`removed the data dir ${dataDir}`);
    }
    if (plan.cacheDir.present) {
      fs.rmSync(plan.cacheDir.dir, { recursive: true, force: true });
      ctx.out(`removed the cache dir ${plan.cacheDir.dir}`);
    }
    for (const line of [...revokeLines(ctx.config), ...programLines()]) ctx.out(line);
  });
}

export function uninstallCommand(deps: CliDeps = {}): Command {
  const cmd = new Command('uninstall')
    .description('remove start at login, the tokens (keychain and file), the data dir and the cache dir; --dry-run lists them')
    .option('--dry-run', 'only list what would be removed')
    .option('-y, --yes', 'do not ask before removing');
  return addCommonOptions(cmd).action(async (opts: UninstallOptions) => uninstall(opts, deps));
}
