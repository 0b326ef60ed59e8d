import type { Logger } from '../log.ts';
import { sendToTest, type TrayToTest } from './test-hook.ts';

/**
 * Side effects that leave the process, always through the real libraries
 * (node-notifier, clipboardy, open). Each settles once the OS-level call has
 * been made: rejected when it failed.
 */
export interface Effects {
  notify(title: string, message: string): Promise<void>;
  copy(text: string): Promise<void>;
  open(target: string): Promise<void>;
}

export async function realEffects(log: Logger, iconPath: string): Promise<Effects> {
  const [{ default: notifier }, { default: clipboard }, { default: openTarget }] = await Promise.all([
    import('node-notifier'),
    import('clipboardy'),
    import('open'),
  ]);
  // No notification daemon (or notify-send missing): stop trying after the first failure.
  let notifyBroken: Error | null = null;
  return {
    notify(title, message) {
      if (notifyBroken) return Promise.reject(notifyBroken);
      return new Promise<void>((resolve, reject) => {
        const fail = (err: unknown): void => {
          notifyBroken = err instanceof Error ? err : new Error(String(err));
          reject(notifyBroken);
        };
        try {
          notifier.notify({ title, message, icon: iconPath, appID: 'github-copilot-svcs' } as Parameters<typeof notifier.notify>[0], (err) => {
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
      await clipboard.write(text);
    },
    async open(target) {
      // Resolves once the launcher (xdg-open, open, PowerShell) has started; it then runs on its own.
      const child = await openTarget(target);
      child.on('error', (err) => log.warn(`Could not open ${target}: ${err.message}`));
    },
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
    notify: (title, message) => report(inner.notify(title, message), (error) => ({ type: 'tray-test-notify', title, message, error })),
    copy: (text) => report(inner.copy(text), (error) => ({ type: 'tray-test-clipboard', text, error })),
    open: (target) => report(inner.open(target), (error) => ({ type: 'tray-test-open', target, error })),
  };
}

