import fs from 'node:fs';
import path from 'node:path';

/**
 * The data dir holds tokens (file store), the config and logs: dir 0700, every
 * file 0600. Checked on every start; anything loosened (a copy, an unzip, a
 * chmod, an editor that rewrote config.json with the umask) is tightened again
 * and reported. Symlinks are never followed. Windows has no POSIX modes: no-op.
 */

export interface PermissionRepair {
  path: string;
  was: number;
  now: number;
}

/** Pure: the mode a data-dir entry must have, or undefined when it is fine. */
export function requiredMode(kind: 'dir' | 'file', mode: number): number | undefined {
  const perms = mode & 0o777;
  if (kind === 'dir') return perms === 0o700 ? undefined : 0o700;
  return (perms & 0o077) === 0 ? undefined : 0o600;
}

/** Tighten the data dir and the files in it (one level of sub-dirs deep). Returns what was changed. */
export function repairDataDirPermissions(dir: string, platform: NodeJS.Platform = process.platform): PermissionRepair[] {
  if (platform === 'win32') return [];
  const repairs: PermissionRepair[] = [];
  const fix = (p: string, kind: 'dir' | 'file', depth: number) => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      return;
    }
    if (st.isSymbolicLink()) return;
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return; // not ours to chmod
    if (kind === 'dir' && !st.isDirectory()) return;
    const want = requiredMode(kind, st.mode);
    if (want !== undefined) {
      fs.chmodSync(p, want);
      repairs.push({ path: p, was: st.mode & 0o777, now: want });
    }
    if (kind === 'dir' && depth < 2) {
      for (const e of fs.readdirSync(p, { withFileTypes: true })) {
        const child = path.join(p, e.name);
        if (e.isDirectory()) fix(child, 'dir', depth + 1);
        else if (e.isFile()) fix(child, 'file', depth + 1);
      }
    }
  };
  fix(dir, 'dir', 0);
  return repairs;
}

/** Lines for the log: one per repaired path. */
export function describeRepairs(repairs: readonly PermissionRepair[]): string[] {
  return repairs.map(
    (r) => `${r.path} had mode ${r.was.toString(8).padStart(4, '0')}, readable by other users; changed to ${r.now.toString(8).padStart(4, '0')}`,
  );
}

/** Temp files left by writeFileAtomic when a process died between write and rename (`.<name>.<pid>.<hex>.tmp`). */
export function removeStaleTempFiles(dir: string, isAlive: (pid: number) => boolean = pidAlive): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || isAlive(pid)) continue; // someone may be writing it right now
    fs.rmSync(path.join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err instanceof Error && 'code' in err && err.code === 'EPERM';
  }
}
