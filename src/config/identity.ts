import { createHash, randomUUID } from 'node:crypto';
import os from 'node:os';

/**
 * Which data dir a running proxy serves, as /health says it: a hash of the
 * user's id and the data dir's real path (resolvePaths resolves links), so a
 * CLI can tell its own proxy from another data dir's or another user's
 * without any path crossing the port.
 */
export function dataDirId(dataDir: string, uid: number = currentUid()): string {
  return createHash('sha256').update(`github-copilot-svcs\0${uid}\0${dataDir}`).digest('hex').slice(0, 16);
}

/** A proxy process's own id: tells a restarted proxy from the one a CLI saw before. */
export function newInstanceId(): string {
  return randomUUID().slice(0, 8);
}

function currentUid(): number {
  // Windows has no uid: -1 there, the same for every user, so the path alone decides.
  try {
    return os.userInfo().uid;
  } catch {
    return -1;
  }
}
