import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { extractedPath, extractSeaAssets } from '../runtime/sea-assets.ts';

/**
 * systray2 ships one Go binary per platform in node_modules/systray2/traybin/.
 * npm unpacks the Linux/macOS ones without their run bit, and systray2's own
 * `fs.chmod(bin, '+x')` is not a valid mode, so it silently fails: we chmod
 * at postinstall (build/postinstall.mjs) and again here at start-up.
 */

const BIN_NAME: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'tray_linux_release',
  darwin: 'tray_darwin_release',
  win32: 'tray_windows_release.exe',
};

/**
 * The helper binary and the systray2 `copyDir` option that makes systray2 run it.
 * From the package: systray2's own traybin/ (copyDir false). From the single-file
 * binary: the copy extracted into the cache dir, laid out as systray2's copyDir
 * expects (<copyDir>/<systray2 version>/<name>), so systray2 runs it as it is.
 */
export function trayHelper(platform: NodeJS.Platform = process.platform): { bin: string; copyDir: string | false } | null {
  const assets = extractSeaAssets();
  if (assets) {
    const rel = assets.manifest.trayHelper;
    return rel ? { bin: extractedPath(assets, rel), copyDir: extractedPath(assets, assets.manifest.trayCopyDir) } : null;
  }
  const name = BIN_NAME[platform];
  if (!name) return null;
  const require = createRequire(import.meta.url);
  return { bin: path.join(path.dirname(require.resolve('systray2')), 'traybin', name), copyDir: false };
}

export function trayBinaryPath(platform: NodeJS.Platform = process.platform): string | null {
  return trayHelper(platform)?.bin ?? null;
}

/** Make the binary executable when needed. Returns a problem to log, or null when it is fine. */
export function ensureTrayBinaryExecutable(platform: NodeJS.Platform = process.platform): string | null {
  const bin = trayBinaryPath(platform);
  if (!bin) return `no tray binary for ${platform}`;
  if (platform === 'win32') return fs.existsSync(bin) ? null : `tray binary missing: ${bin}`;
  try {
    const st = fs.statSync(bin);
    if ((st.mode & 0o111) === 0o111) return null;
    fs.chmodSync(bin, st.mode | 0o755);
    return null;
  } catch (err) {
    return `cannot make ${bin} executable: ${(err as Error).message}`;
  }
}
