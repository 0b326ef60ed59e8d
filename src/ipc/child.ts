/**
 * How the tray starts its proxy child and what the child's exit code says:
 * owned here, read by both sides (main.ts registers the command, tray builds
 * the argv, the supervisor reads the code).
 */

/** The hidden command the tray forks (IPC channel on fd 3). */
export const PROXY_CHILD_COMMAND = '__proxy-child';

/** The child could not listen (port taken, address not available): restarting will not help. */
export const EXIT_LISTEN_FAILED = 3;

/** The child's argv: port and host are its own flags; everything else reaches it through the environment. */
export function proxyChildArgs(flags: { port?: number | undefined; host?: string | undefined }): string[] {
  return [
    PROXY_CHILD_COMMAND,
    ...(flags.port !== undefined ? ['--port', String(flags.port)] : []),
    ...(flags.host !== undefined ? ['--host', flags.host] : []),
  ];
}
