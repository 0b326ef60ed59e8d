/**
 * The CLI: every command, parsed with commander; each command's code is
 * imported only when it runs. main.ts (the bin entry) calls main().
 */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, ExitError } from './errors.ts';
import type { ConfigFlags } from './config/load.ts';
import { VERSION, versionLine } from './version.ts';
import { registerCliCommands } from './cli/index.ts';
import { PROXY_CHILD_COMMAND } from './ipc/child.ts';
import { DEFAULTS, LOG_LEVELS } from './config/schema.ts';
import { envName } from './config/env.ts';
import { closest } from './text/closest.ts';

/** Flags every server-ish command shares; names match config keys. */
export function addServerFlags(cmd: Command): Command {
  return cmd
    .option('-p, --port <port>', `port to listen on (default: ${fromConfig('port')})`, (v) => parsePort(v))
    .option('--host <host>', `address to listen on (default: ${fromConfig('host')})`)
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS));
}

/** Where a flag's value comes from when it is not given, in precedence order (the help does not load them to show the value). */
function fromConfig(key: 'port' | 'host'): string {
  return `${envName(key)}, else config.json's ${key}, else ${DEFAULTS[key]}`;
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ExitError(`--port must be a whole number from 0 to 65535 (0 picks a free port) (got ${JSON.stringify(v)})`, 2);
  return n;
}

export function flagsFrom(opts: Record<string, unknown>): ConfigFlags {
  const flags: ConfigFlags = {};
  if (typeof opts.port === 'number') flags.port = opts.port;
  if (typeof opts.host === 'string') flags.host = opts.host;
  if (typeof opts.logLevel === 'string') flags.log_level = opts.logLevel as ConfigFlags['log_level'];
  if (typeof opts.oauthApp === 'string') flags.oauth_app = opts.oauthApp as ConfigFlags['oauth_app'];
  if (typeof opts.enterprise === 'string') flags.enterprise_url = opts.enterprise;
  return flags;
}

export function buildProgram(): Command {
  const program = new Command()
    .name('github-copilot-svcs')
    .description('Use your GitHub Copilot subscription from any OpenAI- or Anthropic-compatible tool, through a local proxy on http://localhost:8081')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  addServerFlags(
    program.command('run').description('run the proxy in the foreground (servers, containers, CI); Ctrl-C stops it'),
  ).action(async (opts: Record<string, unknown>) => {
    const { runCommand } = await import('./proxy/run.ts');
    await runCommand(flagsFrom(opts));
  });

  addServerFlags(
    program.command('start').description('start the tray app when a desktop session exists, else run the proxy in the foreground'),
  ).action(async (opts: Record<string, unknown>) => {
    const hasDesktop = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY) || process.platform === 'darwin' || process.platform === 'win32';
    if (hasDesktop) {
      const trayMain = await import('./tray/tray-main.ts').catch(() => undefined);
      if (trayMain) {
        await trayMain.runTray({ flags: flagsFrom(opts) });
        return;
      }
    }
    const { runCommand } = await import('./proxy/run.ts');
    await runCommand(flagsFrom(opts));
  });

  // Internal: the tray forks this as its proxy child (IPC channel on fd 3).
  program
    .command(PROXY_CHILD_COMMAND, { hidden: true })
    .option('-p, --port <port>', 'port', (v) => parsePort(v))
    .option('--host <host>', 'host')
    .action(async (opts: Record<string, unknown>) => {
      const { runProxyChild } = await import('./proxy/child-main.ts');
      await runProxyChild(flagsFrom(opts));
    });

  program
    .command('version')
    .description('print the version')
    .action(() => {
      process.stdout.write(`${versionLine()}\n`);
    });

  // --- commands registered by src/cli/ and src/tray/ (keep this marker) ---
  registerCliCommands(program);

  addServerFlags(program.command('tray').description('start the tray icon; it runs the proxy as a supervised child process')).action(
    async (opts: Record<string, unknown>) => {
      const { runTray } = await import('./tray/tray-main.ts');
      const code = await runTray({ flags: flagsFrom(opts) });
      if (code !== 0) throw new ExitError('', code);
    },
  );

  program
    .command('autostart')
    .description('start the tray at login: enable | disable | status')
    .argument('<action>', 'enable, disable or status')
    .action(async (action: string) => {
      const autostart = await import('./tray/autostart.ts');
      if (action !== 'enable' && action !== 'disable' && action !== 'status') {
        throw new ExitError(`autostart: unknown action ${JSON.stringify(action)} (use enable, disable or status)`, 2);
      }
      const s =
        action === 'enable' ? await autostart.enableAutostart() : action === 'disable' ? await autostart.disableAutostart() : await autostart.autostartStatus();
      process.stdout.write(`${autostart.describeAutostart(s)}\n`);
      if (!s.supported) throw new ExitError('', 1);
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // commander answers `help <unknown>` with the general help and exit 0: say it is unknown, exit 2.
  const asked = argv[2] === 'help' ? argv[3] : undefined;
  if (asked !== undefined && !asked.startsWith('-') && !program.commands.some((c) => c.name() === asked || c.aliases().includes(asked))) {
    const names = program.commands.filter((c) => !('_hidden' in c && c._hidden === true)).map((c) => c.name());
    const near = closest(asked, names);
    process.stderr.write(`error: unknown command '${asked}'${near ? `\n(Did you mean ${near}?)` : ''}\n(run with --help for the commands)\n`);
    return 2;
  }
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      return 2;
    }
    if (err instanceof ConfigError) {
      for (const line of err.lines) process.stderr.write(`config error: ${line}\n`);
      for (const line of err.warnings) process.stderr.write(`config warning: ${line}\n`);
      return 2;
    }
    if (err instanceof ExitError) {
      if (err.message) process.stderr.write(`${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
