import type { Command } from 'commander';
import { authCommand, type AuthDeps } from './auth.ts';
import { configCommand } from './config.ts';
import { dashboardCommand } from './dashboard.ts';
import { modelsCommand } from './models.ts';
import { refreshCommand } from './refresh.ts';
import { statusCommand } from './status.ts';
import { usageCommand } from './usage.ts';

export { authCommand, configCommand, dashboardCommand, modelsCommand, refreshCommand, statusCommand, usageCommand };

/** Adds auth, status, refresh, models, config, usage and dashboard to the program, with its settings (exitOverride...). */
export function registerCliCommands(program: Command, deps: AuthDeps = {}): void {
  for (const cmd of [authCommand(deps), statusCommand(deps), refreshCommand(deps), modelsCommand(deps), configCommand(deps), usageCommand(deps), dashboardCommand(deps)]) {
    cmd.copyInheritedSettings(program);
    program.addCommand(cmd);
  }
}
