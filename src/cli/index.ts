import type { Command } from 'commander';
import { authCommand, type AuthDeps } from './auth.ts';
import { configCommand } from './config.ts';
import { modelsCommand } from './models.ts';
import { refreshCommand } from './refresh.ts';
import { statusCommand } from './status.ts';
import { usageCommand } from './usage.ts';

export { authCommand, configCommand, modelsCommand, refreshCommand, statusCommand, usageCommand };

/** Adds auth, status, refresh, models, config and usage to the program, with its settings (exitOverride...). */
export function registerCliCommands(program: Command, deps: AuthDeps = {}): void {
  for (const cmd of [authCommand(deps), statusCommand(deps), refreshCommand(deps), modelsCommand(deps), configCommand(deps), usageCommand(deps)]) {
    cmd.copyInheritedSettings(program);
    program.addCommand(cmd);
  }
}
