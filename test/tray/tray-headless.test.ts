/**
 * Without a usable tray (no DISPLAY, or a DISPLAY where the systray2 binary
 * dies before `ready`), the tray keeps the proxy running headless with a clear
 * message, and still stops cleanly. Uses fixtures/fake-child.ts: no upstream needed.
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import type { TrayToTest } from '../../src/tray/test-hook.ts';
import { freePort, waitUntil } from '../helpers/desktop.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-tray-headless-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function runHeadless(display: string | undefined) {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: tmp,
    XDG_CONFIG_HOME: path.join(tmp, 'config'),
    GITHUB_COPILOT_SVCS_TRAY_TEST_HOOK: '1',
    TRAY_TEST_CHILD: 'fake',
    TRAY_TEST_READY_TIMEOUT_MS: '5000',
    GITHUB_COPILOT_SVCS_HOME: path.join(tmp, `data-${port}`),
    GITHUB_COPILOT_SVCS_PORT: String(port),
    GITHUB_COPILOT_SVCS_GITHUB_TOKEN: 'gho_headless_test_token',
    // No bus: nothing to autolaunch if the binary starts at all.
    DBUS_SESSION_BUS_ADDRESS: 'disabled:',
    NO_AT_BRIDGE: '1',
  };
  if (display) env.DISPLAY = display;
  const events: TrayToTest[] = [];
  let output = '';
  // Started from / (no package.json above it), as the autostart entry starts it: the log files must still be written.
  const tray = fork(path.join(here, 'fixtures', 'run-tray.ts'), [], { execArgv: ['--import', import.meta.resolve('tsx')], cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  tray.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  tray.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  tray.on('message', (m: TrayToTest) => events.push(m));
  const exited = new Promise<number | null>((r) => tray.once('exit', (c) => r(c)));
  try {
    const ui = await waitUntil('ui decision', () => events.find((e) => e.type === 'tray-test-ui'));
    await waitUntil('proxy running', () => events.find((e) => e.type === 'tray-test-proxy' && e.status === 'running'));
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(res.status, 200);
    const childPid = (events.findLast((e) => e.type === 'tray-test-proxy' && e.status === 'running') as { childPid: number }).childPid;
    tray.send({ type: 'tray-test-quit' });
    assert.equal(await exited, 0);
    assert.throws(() => process.kill(childPid, 0), /ESRCH/);
    const dataDir = path.join(tmp, `data-${port}`);
    assert.match(fs.readFileSync(path.join(dataDir, 'github-copilot-svcs-tray.log'), 'utf8'), /\[tray\] .*Proxy listening on/, 'the tray log file is written');
    return { ui, output };
  } finally {
    if (tray.exitCode === null) tray.kill('SIGKILL');
  }
}

describe('tray without a usable system tray', { skip: process.platform !== 'linux' && 'Linux-only (DISPLAY)', timeout: 60_000 }, () => {
  it('no DISPLAY: runs the proxy headless at once, with a clear message', async () => {
    const { ui, output } = await runHeadless(undefined);
    assert.deepEqual(ui, { type: 'tray-test-ui', ui: 'headless', reason: 'no DISPLAY or WAYLAND_DISPLAY', binPid: null });
    assert.match(output, /No system tray available \(no DISPLAY or WAYLAND_DISPLAY\): running the proxy without a tray icon/);
  });

  it('a DISPLAY with no X server: the binary dies before ready, and the proxy still runs', async () => {
    const { ui } = await runHeadless(':4999');
    assert.equal(ui.type === 'tray-test-ui' && ui.ui, 'headless');
    assert.match(ui.type === 'tray-test-ui' ? (ui.reason ?? '') : '', /tray binary (exited|was not ready)/);
  });
});
