import { envName } from '../config/env.ts';
import * as z from 'zod';
import type { TrayHostProbe } from './tray-host.ts';

/**
 * An IPC channel between an integration test and the tray process (not the
 * proxy child). Active only when the tray was forked with an IPC channel and
 * GITHUB_COPILOT_SVCS_TRAY_TEST_HOOK=1. The tray then reports what it shows,
 * and accepts clicks by item key, which go through the same handler as clicks
 * from the systray binary. What it does outside itself (notifications,
 * clipboard, browser) still goes through the real libraries (the X server,
 * for the X11 clipboard); the hook only
 * reports each call once it was made, with its error if it failed. Tests stub
 * the OS below those libraries (notify-send on PATH, BROWSER, a real X clipboard).
 */

export const TEST_HOOK_ENV = envName('tray_test_hook');

export interface HookMenuItem {
  key: string;
  title: string;
  enabled: boolean;
  hidden: boolean;
  checked: boolean;
}

export type TrayToTest =
  | { type: 'tray-test-ui'; ui: 'ready' | 'headless'; reason: string | null; binPid: number | null }
  /** What the tray host check found (tray-host.ts), once the tray binary is ready. */
  | { type: 'tray-test-host'; probe: TrayHostProbe }
  | { type: 'tray-test-menu'; icon: string; tooltip: string; items: HookMenuItem[] }
  | { type: 'tray-test-proxy'; status: string; childPid: number | null }
  | { type: 'tray-test-clicked'; key: string; source: 'systray' | 'hook' }
  | { type: 'tray-test-notify'; title: string; message: string; icon: string; error: string | null }
  | { type: 'tray-test-clipboard'; text: string; error: string | null }
  | { type: 'tray-test-open'; target: string; error: string | null }
  | { type: 'tray-test-exit'; code: number };

export const testToTraySchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('tray-test-click'), key: z.string() }),
  z.object({ type: z.literal('tray-test-quit') }),
]);
export type TestToTray = z.infer<typeof testToTraySchema>;

export function testHookActive(env: NodeJS.ProcessEnv): boolean {
  return env[TEST_HOOK_ENV] === '1' && typeof process.send === 'function';
}

export function sendToTest(msg: TrayToTest): void {
  if (typeof process.send === 'function' && process.connected) process.send(msg);
}
