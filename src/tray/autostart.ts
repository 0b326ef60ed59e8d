import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assetsDir, selfCommand } from '../install-paths.ts';

/**
 * Start at login, per platform, with small generators instead of a library:
 * `auto-launch` writes the same three things but reads paths from the real
 * home dir and shells out to `reg`/AppleScript without a seam, so it cannot be
 * tested without touching the machine it runs on.
 *
 *   Linux:   $XDG_CONFIG_HOME/autostart/github-copilot-svcs.desktop (XDG Autostart spec)
 *   macOS:   ~/Library/LaunchAgents/io.github.github-copilot-svcs.plist (launchd loads it at login)
 *   Windows: HKCU\Software\Microsoft\Windows\CurrentVersion\Run, value "github-copilot-svcs"
 */

export const AUTOSTART_NAME = 'github-copilot-svcs';
export const LAUNCH_AGENT_LABEL = 'io.github.github-copilot-svcs';
export const WINDOWS_RUN_KEY = 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run';

export type RegRunner = (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

export interface AutostartOptions {
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  homeDir?: string;
  /** argv that starts the tray; default: this node, this package's bin, `tray`. */
  command?: string[];
  /** Icon for the Linux desktop entry. */
  iconPath?: string;
  /** Runs `reg.exe` with these args (Windows); injectable for tests. */
  runReg?: RegRunner;
}

export interface AutostartStatus {
  platform: NodeJS.Platform;
  supported: boolean;
  enabled: boolean;
  /** File path or registry key + value that holds the entry. */
  location: string;
  /** The command line that will run at login, when enabled. */
  command: string | null;
}

export function defaultTrayCommand(): string[] {
  const cmd = selfCommand(['tray']);
  return [cmd.file, ...cmd.args];
}

const defaultRunReg: RegRunner = (args) =>
  new Promise((resolve) => {
    execFile('reg', args, { windowsHide: true }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });

interface Resolved {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  home: string;
  command: string[];
  iconPath: string;
  runReg: RegRunner;
}

function resolve(opts: AutostartOptions): Resolved {
  return {
    platform: opts.platform ?? process.platform,
    env: opts.env ?? process.env,
    home: opts.homeDir ?? os.homedir(),
    command: opts.command ?? defaultTrayCommand(),
    iconPath: opts.iconPath ?? path.join(assetsDir(), 'tray-healthy-32.png'),
    runReg: opts.runReg ?? defaultRunReg,
  };
}

export function autostartLocation(opts: AutostartOptions = {}): string {
  const o = resolve(opts);
  switch (o.platform) {
    case 'darwin':
      return path.join(o.home, 'Library', 'LaunchAgents', `${LAUNCH_AGENT_LABEL}.plist`);
    case 'win32':
      return `${WINDOWS_RUN_KEY}\\${AUTOSTART_NAME}`;
    default: {
      const configHome = o.env.XDG_CONFIG_HOME && path.isAbsolute(o.env.XDG_CONFIG_HOME) ? o.env.XDG_CONFIG_HOME : path.join(o.home, '.config');
      return path.join(configHome, 'autostart', `${AUTOSTART_NAME}.desktop`);
    }
  }
}

// ---- generators (pure) ----

/** One argument of a desktop entry Exec key: quoting rules of the Desktop Entry spec, then string escaping. */
function execArg(arg: string): string {
  let a = arg.replace(/%/g, '%%');
  if (/[\s"'\\><~|&;$*?#()`]/.test(a) || a === '') a = `"${a.replace(/(["`$\\])/g, '\\$1')}"`;
  // The Exec value is itself a string value: every backslash is escaped once more.
  return a.replace(/\\/g, '\\\\');
}

export function desktopEntry(command: string[], iconPath: string): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=GitHub Copilot proxy',
    'Comment=Local OpenAI-compatible API backed by GitHub Copilot (tray icon)',
    `Exec=${command.map(execArg).join(' ')}`,
    `Icon=${iconPath}`,
    'Terminal=false',
    'Categories=Development;',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function launchAgentPlist(command: string[], label = LAUNCH_AGENT_LABEL): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    '  <key>Label</key>',
    `  <string>${xml(label)}</string>`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...command.map((a) => `    <string>${xml(a)}</string>`),
    '  </array>',
    '  <key>RunAtLoad</key>',
    '  <true/>',
    '  <key>KeepAlive</key>',
    '  <false/>',
    '  <key>ProcessType</key>',
    '  <string>Interactive</string>',
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}

/** The Run value: each argument in double quotes (CommandLineToArgvW rules). */
export function windowsRunCommand(command: string[]): string {
  return command.map((a) => `"${a.replace(/(\\*)"/g, '$1$1\\"').replace(/(\\+)$/, '$1$1')}"`).join(' ');
}

// ---- enable / disable / status ----

function desktopEnabled(text: string): boolean {
  return !/^Hidden\s*=\s*true\s*$/m.test(text) && !/^X-GNOME-Autostart-enabled\s*=\s*false\s*$/m.test(text);
}

function writePrivate(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

export async function autostartStatus(opts: AutostartOptions = {}): Promise<AutostartStatus> {
  const o = resolve(opts);
  const location = autostartLocation(opts);
  if (o.platform === 'win32') {
    const r = await o.runReg(['query', WINDOWS_RUN_KEY, '/v', AUTOSTART_NAME]);
    const m = r.code === 0 ? /REG_(?:EXPAND_)?SZ\s+(.*)$/m.exec(r.stdout) : null;
    return { platform: o.platform, supported: true, enabled: m !== null, location, command: m?.[1]?.trim() ?? null };
  }
  if (o.platform !== 'darwin' && o.platform !== 'linux' && o.platform !== 'freebsd' && o.platform !== 'openbsd') {
    return { platform: o.platform, supported: false, enabled: false, location, command: null };
  }
  let text: string;
  try {
    text = fs.readFileSync(location, 'utf8');
  } catch {
    return { platform: o.platform, supported: true, enabled: false, location, command: null };
  }
  if (o.platform === 'darwin') {
    const array = /<key>ProgramArguments<\/key>\s*<array>([\s\S]*?)<\/array>/.exec(text)?.[1] ?? '';
    const unxml = (v: string): string => v.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
    const args = [...array.matchAll(/<string>([^<]*)<\/string>/g)].map((m) => unxml(m[1] ?? ''));
    return { platform: o.platform, supported: true, enabled: true, location, command: args.join(' ') };
  }
  const exec = /^Exec=(.*)$/m.exec(text)?.[1] ?? null;
  return { platform: o.platform, supported: true, enabled: desktopEnabled(text), location, command: exec };
}

export async function enableAutostart(opts: AutostartOptions = {}): Promise<AutostartStatus> {
  const o = resolve(opts);
  const location = autostartLocation(opts);
  if (o.platform === 'win32') {
    const r = await o.runReg(['add', WINDOWS_RUN_KEY, '/v', AUTOSTART_NAME, '/t', 'REG_SZ', '/d', windowsRunCommand(o.command), '/f']);
    if (r.code !== 0) throw new Error(`Could not write ${location}: ${r.stderr.trim() || `reg exited with ${r.code}`}`);
  } else if (o.platform === 'darwin') {
    writePrivate(location, launchAgentPlist(o.command));
  } else if (o.platform === 'linux' || o.platform === 'freebsd' || o.platform === 'openbsd') {
    writePrivate(location, desktopEntry(o.command, o.iconPath));
  } else {
    throw new Error(`Start at login is not supported on ${o.platform}`);
  }
  return autostartStatus(opts);
}

export async function disableAutostart(opts: AutostartOptions = {}): Promise<AutostartStatus> {
  const o = resolve(opts);
  const location = autostartLocation(opts);
  if (o.platform === 'win32') {
    const r = await o.runReg(['delete', WINDOWS_RUN_KEY, '/v', AUTOSTART_NAME, '/f']);
    // Exit 1 with "unable to find" means it was not there: already disabled.
    if (r.code !== 0 && !/unable to find|not find/i.test(r.stderr + r.stdout)) {
      throw new Error(`Could not remove ${location}: ${r.stderr.trim() || `reg exited with ${r.code}`}`);
    }
  } else {
    fs.rmSync(location, { force: true });
  }
  return autostartStatus(opts);
}

/** One line for the CLI: `autostart status`. */
export function describeAutostart(s: AutostartStatus): string {
  if (!s.supported) return `Start at login is not supported on ${s.platform}.`;
  return s.enabled ? `Start at login: enabled (${s.location})${s.command ? `\n  runs: ${s.command}` : ''}` : `Start at login: disabled (${s.location} not present)`;
}
