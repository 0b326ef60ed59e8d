import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors.ts';
import { ENV_HOME } from './env.ts';
import type { ConfigPaths } from './schema.ts';

/**
 * The Go tool's data dir, so its users keep their config; GITHUB_COPILOT_SVCS_HOME
 * overrides it. A data dir that is a symlink is resolved once here, so every
 * check and repair afterwards works on the real dir.
 */
export function resolvePaths(env: NodeJS.ProcessEnv = process.env): ConfigPaths {
  const home = env[ENV_HOME];
  const given = home ? path.resolve(home) : path.join(os.homedir(), '.local', 'share', 'github-copilot-svcs');
  const dataDir = realDir(given);
  return {
    dataDir,
    configFile: path.join(dataDir, 'config.json'),
    logFile: path.join(dataDir, 'github-copilot-svcs.log'),
    tokenFile: path.join(dataDir, 'tokens.json'),
  };
}

function realDir(dir: string): string {
  try {
    return fs.realpathSync(dir);
  } catch {
    return dir; // not created yet
  }
}

/**
 * config.json and the token file are never read or written through a symlink:
 * a link would let the token land in (or stay in) a file we do not control.
 * Throws a ConfigError (exit 2) naming the link and its target; changes nothing.
 */
export function refuseSymlink(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return; // missing: nothing to refuse
  }
  if (!st.isSymbolicLink()) return;
  let target: string;
  try {
    target = fs.readlinkSync(file);
  } catch {
    target = '(unreadable)';
  }
  throw new ConfigError([
    `${file} is a symbolic link to ${target}; refusing to follow it (it may hold a token). Replace the link with the file itself (e.g. mv "${path.resolve(path.dirname(file), target)}" "${file}"), nothing was changed`,
  ]);
}
