import os from 'node:os';
import path from 'node:path';
import type { ConfigPaths } from './schema.ts';

/** The Go tool's data dir, so its users keep their config; GITHUB_COPILOT_SVCS_HOME overrides it. */
export function resolvePaths(env: NodeJS.ProcessEnv = process.env): ConfigPaths {
  const dataDir = env.GITHUB_COPILOT_SVCS_HOME
    ? path.resolve(env.GITHUB_COPILOT_SVCS_HOME)
    : path.join(os.homedir(), '.local', 'share', 'github-copilot-svcs');
  return {
    dataDir,
    configFile: path.join(dataDir, 'config.json'),
    logFile: path.join(dataDir, 'github-copilot-svcs.log'),
    tokenFile: path.join(dataDir, 'tokens.json'),
  };
}
