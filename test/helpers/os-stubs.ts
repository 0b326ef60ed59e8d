/**
 * Stand-ins for the programs at the OS boundary (a browser, notify-send): tiny
 * sh scripts that record their argv, one file per call, and exit with a chosen
 * code. The code under test reaches them through its real libraries (open's
 * xdg-open via $BROWSER, node-notifier via notify-send on PATH).
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Recorder {
  /** Absolute path of the stub script. */
  path: string;
  /** The argv of every call so far, oldest first. */
  calls(): string[][];
}

const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Write an executable stub `binDir/name` that records each call's argv into its
 * own file (written aside, then renamed, so a reader never sees half a call).
 */
export function recorder(binDir: string, name: string, opts: { exitCode?: number } = {}): Recorder {
  fs.mkdirSync(binDir, { recursive: true });
  const dir = path.join(binDir, `.${name}.calls`);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(binDir, name);
  fs.writeFileSync(
    file,
    [
      '#!/bin/sh',
      `# test stub for ${name}: records its argv, exits ${opts.exitCode ?? 0}`,
      `d=${sq(dir)}`,
      't=$(mktemp "$d/.part.XXXXXXXX") || exit 99',
      `printf '%s\\037' "$@" > "$t"`,
      'mv "$t" "$d/call.$(date +%s%N).${t##*.}"',
      `exit ${opts.exitCode ?? 0}`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return {
    path: file,
    calls() {
      return fs
        .readdirSync(dir)
        .filter((f) => f.startsWith('call.'))
        .sort()
        .map((f) => {
          const raw = fs.readFileSync(path.join(dir, f), 'utf8');
          return raw === '' ? [] : raw.replace(/\x1f$/, '').split('\x1f');
        });
    },
  };
}

/**
 * Environment variables that make xdg-open (bundled with `open`, or the
 * system's) believe a desktop environment is running; with none of them set
 * and no DISPLAY it goes straight to $BROWSER. `undefined` removes them from a
 * spawned child's env.
 */
export const DESKTOP_ENV_UNSET: NodeJS.ProcessEnv = {
  DISPLAY: undefined,
  WAYLAND_DISPLAY: undefined,
  XDG_CURRENT_DESKTOP: undefined,
  XDG_SESSION_DESKTOP: undefined,
  DESKTOP_SESSION: undefined,
  KDE_FULL_SESSION: undefined,
  GNOME_DESKTOP_SESSION_ID: undefined,
  MATE_DESKTOP_SESSION_ID: undefined,
  LXQT_SESSION_CONFIG: undefined,
  DESKTOP: undefined,
  // xdg-open asks the session bus whether GNOME's session manager runs.
  DBUS_SESSION_BUS_ADDRESS: 'disabled:',
};

/**
 * Make `browser` the default browser for http(s) through the XDG MIME
 * database, for an xdg-open that has a DISPLAY and finds `xdg-mime`: a
 * mimeapps.list in `configHome` and a .desktop file in `dataHome`. Where
 * xdg-mime is not installed xdg-open falls back to $BROWSER.
 */
export function registerDefaultBrowser(configHome: string, dataHome: string, browser: string): void {
  fs.mkdirSync(configHome, { recursive: true });
  fs.mkdirSync(path.join(dataHome, 'applications'), { recursive: true });
  fs.writeFileSync(
    path.join(dataHome, 'applications', 'gcs-test-browser.desktop'),
    ['[Desktop Entry]', 'Type=Application', 'Name=Test browser', `Exec=${browser} %u`, 'MimeType=x-scheme-handler/http;x-scheme-handler/https;', ''].join('\n'),
  );
  fs.writeFileSync(
    path.join(configHome, 'mimeapps.list'),
    ['[Default Applications]', 'x-scheme-handler/http=gcs-test-browser.desktop', 'x-scheme-handler/https=gcs-test-browser.desktop', 'text/html=gcs-test-browser.desktop', ''].join('\n'),
  );
}
