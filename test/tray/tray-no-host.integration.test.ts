/**
 * The tray on a desktop where nothing shows tray icons: Xvfb WITHOUT trayer
 * (no XEmbed tray) and a private session bus WITHOUT a StatusNotifierWatcher,
 * as on GNOME without the AppIndicator extension. The real systray2 binary
 * starts anyway; the tray must notice, say once what to install, keep the
 * proxy running and open the dashboard instead (issue #19). Same OS boundary
 * as tray.integration.test.ts: notify-send and the browser are recording stubs.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/index.ts';
import { forkTestTray } from './fixtures/fork-tray.ts';
import { runCli } from '../helpers/cli.ts';
import { alive, desktopSkip, freePort, killAndWait, processesWith, run, sleep, startSessionBus, startXvfb, waitUntil } from '../helpers/desktop.ts';
import { recorder, registerDefaultBrowser, type Recorder } from '../helpers/os-stubs.ts';
import type { TrayToTest } from '../../src/tray/test-hook.ts';

const NO_TRAY_TITLE = 'GitHub Copilot proxy: no system tray';

/** Net::DBus (Debian libnet-dbus-perl) can own a bus name; used to stand in for a StatusNotifierWatcher. */
async function perlDbus(): Promise<boolean> {
  return (await run('perl', ['-MNet::DBus', '-e', '1'], process.env)).code === 0;
}

describe('tray with no tray host (Xvfb without trayer, a session bus without a StatusNotifierWatcher)', { skip: desktopSkip(), timeout: 180_000 }, () => {
  const procs: ChildProcess[] = [];
  let tmp = '';
  let env: NodeJS.ProcessEnv = {};
  let display = '';
  let fake: FakeUpstream | null = null;
  let tray: ChildProcess | null = null;
  let port = 0;
  let marker = '';
  const events: TrayToTest[] = [];
  let trayLog = '';
  let browser: Recorder;
  let notifySend: Recorder;
  const noTrayNotes = () => notifySend.calls().filter((a) => a[0] === NO_TRAY_TITLE);

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-tray-nohost-'));
    marker = `GCS_TRAY_IT_RUN=${tmp}`;
    display = await startXvfb(procs);
    const bin = path.join(tmp, 'bin');
    browser = recorder(bin, 'test-browser');
    notifySend = recorder(bin, 'notify-send');
    registerDefaultBrowser(path.join(tmp, 'config'), path.join(tmp, 'share'), browser.path);
    env = {
      PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
      HOME: tmp,
      DISPLAY: display,
      DBUS_SESSION_BUS_ADDRESS: await startSessionBus(procs),
      NO_AT_BRIDGE: '1',
      XDG_CONFIG_HOME: path.join(tmp, 'config'),
      XDG_DATA_HOME: path.join(tmp, 'share'),
      XDG_RUNTIME_DIR: tmp,
      BROWSER: browser.path,
    };
    fake = await startFakeUpstream();
    port = await freePort();
    tray = forkTestTray({
      env,
      dataDir: path.join(tmp, 'data'),
      upstreamUrl: fake.url,
      port,
      events,
      onOutput: (text) => (trayLog += text),
      extra: {
        GCS_TRAY_IT_RUN: tmp,
        TRAY_TEST_CHILD: 'real',
        // One more look after 2 s (a panel starting after us at login), then say so.
        TRAY_TEST_HOST_GRACE_MS: '2500',
        GITHUB_COPILOT_SVCS_GITHUB_TOKEN: fake.createGithubToken(),
      },
    });
  });

  after(async () => {
    if (tray && tray.exitCode === null) {
      tray.send?.({ type: 'tray-test-quit' });
      await Promise.race([new Promise((r) => tray!.once('exit', r)), sleep(15_000)]);
      await killAndWait(tray);
    }
    await fake?.close();
    const leftovers = processesWith(marker);
    for (const p of leftovers) {
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    for (const p of procs.reverse()) await killAndWait(p);
    fs.rmSync(tmp, { recursive: true, force: true });
    if (process.exitCode) process.stderr.write(`--- tray output ---\n${trayLog}\n`);
  });

  it('the tray binary starts, the check finds no host, and the log says what was found instead of "Tray icon ready"', async () => {
    const ui = await waitUntil('tray ui', () => events.find((e) => e.type === 'tray-test-ui'));
    assert.equal(ui.type === 'tray-test-ui' && ui.ui, 'ready', `the systray2 binary itself runs: ${trayLog}`);
    const host = await waitUntil('tray host check', () => events.find((e) => e.type === 'tray-test-host'));
    assert.deepEqual(host, { type: 'tray-test-host', probe: { kind: 'none', checked: ['no StatusNotifierWatcher on the session bus', `no XEmbed tray on ${display}`] } });
    await waitUntil('the warning', () => /No tray host found/.test(trayLog));
    assert.match(
      trayLog,
      new RegExp(`\\[tray\\].*No tray host found \\(no StatusNotifierWatcher on the session bus; no XEmbed tray on ${display}\\): the tray icon will not show\\. To see it, run a panel with a system tray`),
    );
    assert.doesNotMatch(trayLog, /Tray icon ready/);
  });

  it('the proxy keeps running and answers /health; the dashboard opens in the browser instead', async () => {
    const health = await waitUntil('/health', async () => {
      try {
        return await fetch(`http://127.0.0.1:${port}/health`);
      } catch {
        return null;
      }
    });
    assert.equal(health.status, 200);
    const opened = await waitUntil('dashboard opened', () => events.find((e) => e.type === 'tray-test-open'));
    assert.deepEqual(opened, { type: 'tray-test-open', target: `http://localhost:${port}/`, error: null });
    await waitUntil('the browser to be launched', () => browser.calls().length > 0);
    assert.deepEqual(browser.calls(), [[`http://localhost:${port}/`]]);
  });

  it('says it once: one notification, with the warning icon and what to install', async () => {
    await waitUntil('the notification (notify-send)', () => noTrayNotes().length > 0);
    // Time for a second one, were there to be one (the check is asked again while the grace lasts).
    await sleep(3000);
    const notes = noTrayNotes();
    assert.equal(notes.length, 1, JSON.stringify(notifySend.calls()));
    const [, message, ...flags] = notes[0]!;
    assert.match(message ?? '', /^Its icon cannot show: run a panel with a system tray/);
    assert.equal(path.basename(flags[flags.indexOf('--icon') + 1] ?? ''), 'tray-warning-32.png');
    assert.equal(events.filter((e) => e.type === 'tray-test-open').length, 1, 'the dashboard opened once');
    assert.equal(browser.calls().length, 1);
  });

  it('`status` says no tray host was found, and what to do', async () => {
    const r = await runCli(['status'], { ...env, GITHUB_COPILOT_SVCS_HOME: path.join(tmp, 'status-home'), GITHUB_COPILOT_SVCS_KEYCHAIN: 'off', GITHUB_COPILOT_SVCS_PORT: '1' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Tray host: none found — run a panel with a system tray \(StatusNotifierItem or XEmbed\)/m);
  });

  it('`status` names a StatusNotifierWatcher on the session bus when one is there', async () => {
    // build/apt-packages.txt installs it (npm test's pre-check names it when missing): fail, never skip.
    assert.ok(await perlDbus(), 'needs perl Net::DBus to own the watcher name: bash build/system-packages.sh (libnet-dbus-perl)');
    // Owns the name the way a watcher (KDE, the GNOME extension) does; nothing else.
    const watcher = spawn('perl', ['-MNet::DBus', '-e', '$|=1; Net::DBus->session->export_service("org.kde.StatusNotifierWatcher"); print "owned\\n"; sleep 60'], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    procs.push(watcher);
    let out = '';
    watcher.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await waitUntil('the watcher name owned', () => out.includes('owned'), 15_000);
    try {
      const r = await runCli(['status'], { ...env, GITHUB_COPILOT_SVCS_HOME: path.join(tmp, 'status-home'), GITHUB_COPILOT_SVCS_KEYCHAIN: 'off', GITHUB_COPILOT_SVCS_PORT: '1' });
      assert.match(r.stdout, /^Tray host: StatusNotifierWatcher \(session bus\)$/m);
    } finally {
      await killAndWait(watcher);
    }
  });

  it('Quit still stops everything and exits 0', async () => {
    const trayPid = tray!.pid!;
    const exited = new Promise<number | null>((r) => tray!.once('exit', (code) => r(code)));
    tray!.send({ type: 'tray-test-quit' });
    assert.equal(await exited, 0);
    await waitUntil(`tray pid ${trayPid} gone`, () => !alive(trayPid), 5000);
    await waitUntil('nothing left by the tray', () => processesWith(marker).length === 0, 10_000).catch(() => assert.fail(`left behind: ${JSON.stringify(processesWith(marker))}`));
  });
});
