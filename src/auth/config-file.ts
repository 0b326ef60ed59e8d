import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { refuseSymlink } from '../config/paths.ts';

/**
 * Files in the data dir: the dir is 0700, every file 0600, and a file is only
 * ever replaced whole (temp file + rename), so a crash never leaves half a config.
 */

export function ensureDataDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32') {
    const mode = fs.statSync(dir).mode & 0o777;
    if (mode !== 0o700) fs.chmodSync(dir, 0o700);
  }
}

/**
 * Write `text` to `file` atomically with mode 0600 (dir 0700). Never through a
 * symlink; the temp file is removed when any step fails (a full disk included).
 */
export function writeFileAtomic(file: string, text: string, fsOps: AtomicWriteOps = fs): void {
  const dir = path.dirname(file);
  ensureDataDir(dir);
  refuseSymlink(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  const fd = fsOps.openSync(tmp, 'wx', 0o600);
  try {
    try {
      fsOps.writeFileSync(fd, text);
      fsOps.fsyncSync(fd);
    } finally {
      fsOps.closeSync(fd);
    }
    fsOps.chmodSync(tmp, 0o600);
    fsOps.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** The fs calls writeFileAtomic makes; injectable so a test can fail any one of them (ENOSPC). */
export type AtomicWriteOps = Pick<typeof fs, 'openSync' | 'writeFileSync' | 'fsyncSync' | 'closeSync' | 'chmodSync' | 'renameSync'>;

/** config.json as a plain object ({} when missing or empty). Throws on unreadable/invalid JSON: never overwrite what we cannot read. */
export function readConfigObject(file: string): Record<string, unknown> {
  let text: string;
  refuseSymlink(file);
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isErrno(err) && err.code === 'ENOENT') return {};
    throw err;
  }
  if (text.trim() === '') return {};
  const raw: unknown = JSON.parse(text);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file}: must hold a JSON object`);
  return { ...raw };
}

/** Read config.json, let `mutate` change keys, write it back atomically (0600); other keys untouched. Returns the new object. */
export function updateConfigFile(file: string, mutate: (obj: Record<string, unknown>) => void): Record<string, unknown> {
  const obj = readConfigObject(file);
  mutate(obj);
  writeFileAtomic(file, `${JSON.stringify(obj, null, 2)}\n`);
  return obj;
}

export function isErrno(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && 'code' in err;
}
