#!/usr/bin/env node
// npm unpacks systray2's tray binaries without their run bit (and systray2's own
// chmod uses an invalid mode), so the tray would fail with EACCES. Fix it once at
// install; src/tray/tray-binary.ts checks again at start-up. Never fails the install.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const names = { linux: 'tray_linux_release', darwin: 'tray_darwin_release' };
const name = names[process.platform];
if (name) {
  try {
    const require = createRequire(import.meta.url);
    const bin = path.join(path.dirname(require.resolve('systray2')), 'traybin', name);
    const st = fs.statSync(bin);
    if ((st.mode & 0o111) !== 0o111) fs.chmodSync(bin, st.mode | 0o755);
  } catch (err) {
    console.warn(`postinstall: could not make the systray2 binary executable: ${err instanceof Error ? err.message : err}`);
  }
}
