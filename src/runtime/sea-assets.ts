import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as z from 'zod';
import { BUILD, VERSION } from '../version.ts';
import { seaApi } from './self.ts';

/**
 * The single-file binary (Node's single executable application, built by
 * build/sea.mjs). It carries its native pieces as SEA assets: the tray helper
 * binary, the icons and, on targets built natively, keytar's `.node`. They are
 * written at first use into a versioned cache dir (0700), because the OS must
 * execute or dlopen them from a file.
 *
 * The asset `manifest.json` (written by build/sea.mjs) names each asset and
 * where it goes, relative to that dir.
 */

export const SEA_MANIFEST_KEY = 'manifest.json';

export const seaManifestSchema = z.object({
  files: z.array(
    z.object({
      /** The SEA asset key. */
      key: z.string().min(1),
      /** Relative path under the cache dir, '/'-separated, no '..'. */
      path: z
        .string()
        .min(1)
        .refine((p) => !p.split('/').includes('..') && !p.startsWith('/'), 'must stay inside the cache dir'),
      mode: z.number().int().min(0).max(0o777),
    }),
  ),
  /** Where the tray helper is, relative to the cache dir (a systray2 `copyDir` layout), if this target has one. */
  trayHelper: z.string().nullable(),
  /** Where keytar's `.node` is, if this target has one. */
  keytar: z.string().nullable(),
  /** The systray2 `copyDir` under the cache dir (systray2 adds its version and the binary name). */
  trayCopyDir: z.string(),
});
export type SeaManifest = z.infer<typeof seaManifestSchema>;

/** The per-user cache base: XDG on Linux, ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows. */
export function cacheBase(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = os.homedir()): string {
  if (platform === 'win32') return path.join(env.LOCALAPPDATA && path.isAbsolute(env.LOCALAPPDATA) ? env.LOCALAPPDATA : path.join(home, 'AppData', 'Local'), 'github-copilot-svcs', 'Cache');
  if (platform === 'darwin') return path.join(home, 'Library', 'Caches', 'github-copilot-svcs');
  return path.join(env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(home, '.cache'), 'github-copilot-svcs');
}

/** The versioned dir for this build's extracted assets (one per version and commit, so an upgrade never runs an old helper). */
export function seaCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheBase(env), `${VERSION}-${BUILD.commit}`);
}

/** Create `dir` (and its parents) and make sure it is a real dir, ours, and 0700. */
function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (process.platform !== 'win32') {
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new Error(`${dir} belongs to another user`);
    if ((st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
  }
}

/**
 * Every dir from `base` down to `base/rel…`, one component at a time: created
 * 0700 when missing, and each must be a real directory (never a symlink:
 * mkdir -p would follow one), ours, and private. Throws naming the first that
 * is not. Returns the deepest dir.
 */
function ensurePrivateDirs(base: string, parts: readonly string[]): string {
  let dir = base;
  for (const part of parts) {
    dir = path.join(dir, part);
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if (!(err instanceof Error && 'code' in err && err.code === 'EEXIST')) throw err;
    }
    const st = fs.lstatSync(dir);
    if (st.isSymbolicLink()) throw new Error(`${dir} is a symbolic link; the cache holds only real directories`);
    if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
    if (process.platform !== 'win32') {
      if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new Error(`${dir} belongs to another user`);
      if ((st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
    }
  }
  return dir;
}

/** Ours, on this platform's terms: Windows has no uids (the profile's ACL protects the cache there). */
function ownedByUs(st: fs.Stats): boolean {
  return process.platform === 'win32' || typeof process.getuid !== 'function' || st.uid === process.getuid();
}

/** Write `data` to `file` unless it is already there, ours, with the same bytes; atomically (temp + rename). */
function writeIfChanged(file: string, data: Uint8Array, mode: number): void {
  try {
    const st = fs.lstatSync(file);
    // A file another user owns is replaced even with the right bytes: it could change after our check.
    if (st.isFile() && ownedByUs(st) && st.size === data.byteLength && Buffer.compare(fs.readFileSync(file), data) === 0) {
      if ((st.mode & 0o777) !== mode && process.platform !== 'win32') fs.chmodSync(file, mode);
      return;
    }
  } catch {
    /* not there yet */
  }
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, data, { mode, flag: 'wx' });
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

export interface ExtractedAssets {
  dir: string;
  manifest: SeaManifest;
}

/**
 * Write every asset of the binary into its cache dir (skipping those already
 * there, byte for byte) and return where they are. Null when not a binary.
 */
export function extractSeaAssets(env: NodeJS.ProcessEnv = process.env): ExtractedAssets | null {
  const sea = seaApi();
  if (!sea) return null;
  const manifest = seaManifestSchema.parse(JSON.parse(sea.getAsset(SEA_MANIFEST_KEY, 'utf8')));
  const dir = seaCacheDir(env);
  ensurePrivateDir(path.dirname(dir));
  ensurePrivateDir(dir);
  for (const f of manifest.files) {
    const parts = f.path.split('/');
    const name = parts.pop();
    if (!name) continue;
    const target = path.join(ensurePrivateDirs(dir, parts), name);
    writeIfChanged(target, new Uint8Array(sea.getAsset(f.key)), f.mode);
  }
  return { dir, manifest };
}

/** Resolve a manifest-relative path under the extracted dir. */
export function extractedPath(assets: ExtractedAssets, rel: string): string {
  return path.join(assets.dir, ...rel.split('/'));
}
