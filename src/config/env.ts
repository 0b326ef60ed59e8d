/**
 * The environment-variable names: every config key `foo_bar` is
 * `GITHUB_COPILOT_SVCS_FOO_BAR`. The prefix is written here and nowhere else.
 */
export const ENV_PREFIX = 'GITHUB_COPILOT_SVCS_';

/** `foo_bar` -> `GITHUB_COPILOT_SVCS_FOO_BAR`; `timeouts.x` -> `GITHUB_COPILOT_SVCS_TIMEOUTS_X`. */
export function envName(key: string): string {
  return ENV_PREFIX + key.replace(/\./g, '_').toUpperCase();
}

/** The command-line flag that sets a config key: `foo_bar` -> `--foo-bar`; enterprise_url is auth's `--enterprise`. */
export function flagName(key: string): string {
  return key === 'enterprise_url' ? '--enterprise' : `--${key.replace(/_/g, '-')}`;
}

/** Data dir override. */
export const ENV_HOME = envName('home');
/** A GitHub token from the environment (CI, containers): used, never written. */
export const ENV_GITHUB_TOKEN = envName('github_token');
