import type { Command } from 'commander';
import { authCommand, type AuthDeps } from './auth.ts';
import { configCommand } from './config.ts';
import { dashboardCommand } from './dashboard.ts';
import { doctorCommand } from './doctor.ts';
import { logoutCommand } from './logout.ts';
import { modelsCommand } from './models.ts';
import { refreshCommand } from './refresh.ts';
import { setupCommand } from './setup.ts';
import { statusCommand } from './status.ts';
import { uninstallCommand } from './uninstall.ts';
import { usageCommand } from './usage.ts';

export { authCommand, configCommand, dashboardCommand, doctorCommand, logoutCommand, modelsCommand, refreshCommand, setupCommand, statusCommand, uninstallCommand, usageCommand };

/** Adds auth, logout, status, refresh, models, config, usage, dashboard, doctor, setup and uninstall to the program, with its settings (exitOverride...). */
export function registerCliCommands(program: Command, deps: AuthDeps = {}): void {
  for (const cmd of [authCommand(deps), logoutCommand(deps), statusCommand(deps), refreshCommand(deps), modelsCommand(deps), configCommand(deps), usageCommand(deps), dashboardCommand(deps), doctorCommand(deps), setupCommand(deps), uninstallCommand(deps)]) {
    inheritSettings(cmd, program);
    program.addCommand(cmd);
  }
}

/** The program's settings (exitOverride: a usage error exits 2) on a command and its own subcommands (config get|set|unset). */
function inheritSettings(cmd: Command, program: Command): void {
  cmd.copyInheritedSettings(program);
  for (const sub of cmd.commands) inheritSettings(sub, program);
}
