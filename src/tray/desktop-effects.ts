import type { Logger } from '../log.ts';
import { sendToTest, type TrayToTest } from './test-hook.ts';
import type { IconKind } from './tray-menu.ts';
import { createX11Clipboard, useX11Clipboard } from './x11-clipboard.ts';

/**
 * Side effects that leave the process, always through the real libraries
 * (node-notifier, clipboardy, open), or the X server itself for the X11
 * clipboard (x11-clipboard.ts). Each settles once the OS-level call has
 * been made: rejected when it failed.
 */
export interface Effects {
  /** `icon`: the state the notification is about (the tray icon of that state). */
  notify(title: string, message: string, icon: IconKind): Promise<void>;
  copy(text: string): Promise<void>;
  open(target: string): Promise<void>;
  /** Quit: let go of what the effects hold (the clipboard), so nothing outlives the tray. */
  close(): void;
}

export interface RealEffectsOptions {
  /** The image file for a notification about `kind`. */
  iconPath: (kind: IconKind) => string;
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
}

/**
 * The real effects. Each library is loaded on first use: a tray that sits at
 * login for days should not carry node-notifier, clipboardy and open (about
 * 30 MB between them) until the user clicks something or a notification is due.
 */
export async function realEffects(log: Logger, o: RealEffectsOptions): Promise<Effects> {
  const notifierLib = once(async () => (await import('node-notifier')).default);
  const clipboardLib = once(async () => (await import('clipboardy')).default);
  const openLib = once(async () => (await import('open')).default);
  // On X11 the tray owns the clipboard itself: clipboardy's xsel daemon would outlive Quit (#19).
  const x11Clipboard = useX11Clipboard(o.env, o.platform) ? createX11Clipboard({ env: o.env, onError: (m) => log.debug(`clipboard: ${m}`) }) : null;
  // No notification daemon (or notify-send missing): stop trying after the first failure.
  let notifyBroken: Error | null = null;
  return {
    async notify(title, message, icon) {
      if (notifyBroken) throw notifyBroken;
      const notifier = await notifierLib();
      return new Promise<void>((resolve, reject) => {
        const fail = (err: unknown): void => {
          notifyBroken = err instanceof Error ? err : new Error(String(err));
          reject(notifyBroken);
        };
        try {
          notifier.notify({ title, message, icon: o.iconPath(icon), appID: 'github-copilot-svcs' } as Parameters<typeof notifier.notify>[0], (err) => {
            // node-notifier passes notify-send's stderr as `err` when it exited 0 but complained.
            if (err) fail(err);
            else resolve();
          });
        } catch (err) {
          fail(err);
        }
      });
    },
    async copy(text) {
      if (x11Clipboard) await x11Clipboard.copy(text);
      else await (await clipboardLib()).write(text);
    },
    async open(target) {
      // Resolves once the launcher (xdg-open, open, PowerShell) has started; it then runs on its own.
      const child = await (await openLib())(target);
      child.on('error', (err) => log.warn(`Could not open ${target}: ${err.message}`));
    },
    close() {
      x11Clipboard?.close();
    },
  };
}

/** `load` runs once; every caller shares its promise (a failed load is tried again next time). */
function once<T>(load: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    p ??= load().catch((err: unknown) => {
      p = undefined;
      throw err;
    });
    return p;
  };
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** With the test hook: the same real effects, each reported to the test once it was made (or failed). */
export function reportingEffects(inner: Effects): Effects {
  const report = (p: Promise<void>, msg: (error: string | null) => TrayToTest): Promise<void> =>
    p.then(
      () => sendToTest(msg(null)),
      (err: unknown) => {
        sendToTest(msg(errorText(err)));
        throw err;
      },
    );
  return {
    notify: (title, message, icon) => report(inner.notify(title, message, icon), (error) => ({ type: 'tray-test-notify', title, message, icon, error })),
    copy: (text) => report(inner.copy(text), (error) => ({ type: 'tray-test-clipboard', text, error })),
    open: (target) => report(inner.open(target), (error) => ({ type: 'tray-test-open', target, error })),
    close: () => inner.close(),
  };
}

