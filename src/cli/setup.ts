import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Argument } from 'commander';
import { createTwoFilesPatch } from 'diff';
import * as z from 'zod';
import { writeFileAtomic } from '../auth/config-file.ts';
import { RUN_HINT, SETUP_CLIENTS, clientConfigFiles, defaultModel, envExports, mergedConfig, type ClientTarget, type SetupClient } from '../clients/configure.ts';
import { baseUrlFor } from '../clients/setup.ts';
import { ExitError } from '../errors.ts';
import { addCommonOptions, commonFlags, withCliContext, type CliContext, type CliDeps, type CommonOptions } from './context.ts';
import { foreignHolderLine, otherProxyLine, proxyJson, proxyOrigin } from './proxy-client.ts';

export type SetupOptions = CommonOptions & { dryRun?: boolean; undo?: boolean; model?: string };

/** What `setup` did, kept in the data dir so `--undo` can put each file back. */
const journalSchema = z.array(
  z.object({
    client: z.enum(SETUP_CLIENTS),
    /** Each file that run changed, and its backup (null: setup created the file). */
    files: z.array(z.object({ file: z.string(), backup: z.string().nullable() })),
    at: z.number(),
  }),
);
type Journal = z.infer<typeof journalSchema>;

/** Where `setup` keeps what it changed: in the data dir, read by `--undo` and `doctor`. */
export function setupJournalPath(dataDir: string): string {
  return path.join(dataDir, 'setup.json');
}

export function readSetupJournal(file: string): Journal {
  try {
    const parsed = journalSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return null;
    throw err;
  }
}

const stamp = (ms: number) => new Date(ms).toISOString().replace(/[:.]/g, '-');

/** The model ids the running proxy lists (null without one), or why it could not list them (not signed in, a wrong api_key...). */
type LiveModels = { ids: string[] | null; problem: string | null };

/** GET /v1/models of this data dir's running proxy. */
async function liveModels(ctx: CliContext): Promise<LiveModels> {
  const proxy = await ctx.proxy();
  if (!proxy) return { ids: null, problem: null };
  let json: unknown;
  try {
    json = await proxyJson(proxy, ctx.loopback(), '/v1/models', ctx.config.api_key ? { apiKey: ctx.config.api_key } : {});
  } catch (err) {
    return { ids: null, problem: err instanceof Error ? err.message : String(err) };
  }
  const parsed = z.object({ data: z.array(z.object({ id: z.string() })) }).safeParse(json);
  return parsed.success ? { ids: parsed.data.data.map((m) => m.id), problem: null } : { ids: null, problem: 'its /v1/models answer has no model list' };
}

/**
 * Check the route `client` will use, with a call that costs no credits:
 * `count_tokens` for Claude Code (its /v1/messages family), the model list for
 * the others (and that the chosen model is in it).
 */
async function checkRoute(ctx: CliContext, client: SetupClient, model: string, live: LiveModels): Promise<string> {
  const holder = await ctx.portHolder();
  if (holder.kind === 'foreign') return `❌ ${foreignHolderLine(holder.detail, ctx.config.port)}`;
  if (holder.kind === 'other') return `❌ ${otherProxyLine(holder.proxy, ctx.config.port)}`;
  const proxy = holder.kind === 'ours' ? holder.proxy : null;
  if (!proxy) return `⚠️  No proxy of this data dir runs on ${proxyOrigin(ctx.config)}: start it (${ctx.command} run, or the tray), then run this again to check the route`;
  try {
    if (client === 'claude-code') {
      const res = await fetch(`${proxy.url}/v1/messages/count_tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(ctx.config.api_key ? { authorization: `Bearer ${ctx.config.api_key}` } : {}) },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'ping' }] }),
      });
      if (!res.ok) return `❌ POST /v1/messages/count_tokens with ${model} answered ${res.status}: ${(await res.text()).slice(0, 200)}`;
      return `✅ POST /v1/messages/count_tokens answers for ${model} (no credits spent)`;
    }
    if (live.problem !== null) return `❌ GET /v1/models failed: ${live.problem}`;
    const ids = live.ids ?? [];
    if (!ids.includes(model)) return `❌ ${model} is not in the proxy's /v1/models; pick one with --model (see: ${ctx.command} models)`;
    return `✅ GET /v1/models lists ${model} (no credits spent)`;
  } catch (err) {
    return `❌ the proxy did not answer: ${err instanceof Error ? err.message : String(err)}`;
  }
}

export async function setup(client: SetupClient, options: SetupOptions, deps: CliDeps & { home?: string; now?: () => number } = {}): Promise<void> {
  await withCliContext(deps, commonFlags(options), async (ctx) => {
    const home = deps.home ?? os.homedir();
    const now = deps.now ?? Date.now;
    const journalFile = setupJournalPath(ctx.config.paths.dataDir);
    const journal = readSetupJournal(journalFile);

    if (options.undo) {
      if (client === 'env') throw new ExitError('setup env writes no file: nothing to undo', 2);
      const i = journal.findLastIndex((e) => e.client === client);
      const last = journal[i];
      if (!last) throw new ExitError(`Nothing to undo: setup ${client} has not changed a file here`, 1);
      for (const f of last.files) {
        if (f.backup === null) {
          fs.rmSync(f.file, { force: true });
          ctx.out(`Removed ${f.file} (setup ${client} had created it).`);
        } else {
          fs.copyFileSync(f.backup, f.file);
          fs.rmSync(f.backup, { force: true });
          ctx.out(`Restored ${f.file} from ${f.backup}.`);
        }
      }
      if (!options.dryRun) writeFileAtomic(journalFile, `${JSON.stringify(journal.filter((_, j) => j !== i), null, 2)}\n`);
      return;
    }

    const live = await liveModels(ctx);
    const ids = live.ids;
    const model = options.model ?? defaultModel(client, ids ?? []);
    if (options.model && ids && !ids.includes(options.model)) throw new ExitError(`--model ${options.model}: the running proxy does not list it (see: ${ctx.command} models)`, 2);
    const origin = baseUrlFor(proxyOrigin(ctx.config)).replace(/\/v1$/, '');
    const target: ClientTarget = { origin, key: ctx.config.api_key ?? 'dummy', model };

    if (client === 'env') {
      for (const line of envExports(target)) ctx.out(line);
      const line = await checkRoute(ctx, 'env', model, live);
      ctx.err(line);
      if (line.startsWith('❌')) throw new ExitError('', 1);
      return;
    }

    const changes: Array<{ file: string; before: string | null; after: string }> = [];
    for (const file of clientConfigFiles(client, ctx.env, home)) {
      const before = readText(file);
      try {
        changes.push({ file, before, after: mergedConfig(client, before ?? '', target, file) });
      } catch (err) {
        throw new ExitError(err instanceof Error ? err.message : String(err), 1);
      }
    }
    const changed = changes.filter((c) => c.before !== c.after);
    if (changed.length === 0) {
      ctx.out(`${changes.map((c) => c.file).join(' and ')} already point${changes.length > 1 ? '' : 's'} ${client} at ${origin} with ${model}: nothing changed.`);
    } else if (options.dryRun) {
      for (const c of changed) ctx.out(createTwoFilesPatch(c.file, c.file, c.before ?? '', c.after, c.before === null ? '(new file)' : 'now', 'after setup').trimEnd());
      ctx.out('(dry run: nothing was written)');
      return;
    } else {
      const at = now();
      const done: Array<{ file: string; backup: string | null }> = [];
      for (const c of changed) {
        fs.mkdirSync(path.dirname(c.file), { recursive: true });
        let backup: string | null = null;
        if (c.before !== null) {
          backup = `${c.file}.gcs-backup-${stamp(at)}`;
          fs.copyFileSync(c.file, backup);
        }
        const mode = c.before === null ? 0o600 : fs.statSync(c.file).mode & 0o777;
        writeFileAtomic(c.file, c.after);
        fs.chmodSync(c.file, mode);
        done.push({ file: c.file, backup });
        ctx.out(`Wrote ${c.file}${backup ? ` (backup: ${backup})` : ' (new)'}.`);
      }
      writeFileAtomic(journalFile, `${JSON.stringify([...journal, { client, files: done, at }], null, 2)}\n`);
      ctx.out(`Undo with: ${ctx.command} setup ${client} --undo`);
    }
    ctx.out(`Model: ${model}${ids ? '' : live.problem !== null ? ' (the proxy could not list the models: the default name)' : ' (no proxy running to list the models: the default name)'}. Run: ${RUN_HINT[client]}`);
    // The file is written either way; a route that does not work yet is exit 1 (for scripts), the line says why.
    const line = await checkRoute(ctx, client, model, live);
    ctx.out(line);
    if (line.startsWith('❌')) throw new ExitError('', 1);
  });
}

export function setupCommand(deps: CliDeps = {}): Command {
  const cmd = new Command('setup')
    .description("point a client at this proxy: writes Claude Code's settings.json, Codex's config.toml (a copilot profile) or opencode's opencode.json, merged with what is there and backed up; env prints the exports")
    .addArgument(new Argument('<client>', 'the client').choices(SETUP_CLIENTS))
    .option('--model <id>', 'the model to use (default: the newest suitable one the proxy lists)')
    .option('--dry-run', 'show the change as a diff; write nothing')
    .option('--undo', 'put back the file as it was before the last setup of this client');
  return addCommonOptions(cmd).action(async (client: SetupClient, opts: SetupOptions) => setup(client, opts, deps));
}
