/**
 * The tray with the REAL systray2 binary under Xvfb, with trayer as the tray
 * host, a private D-Bus session bus (so nothing autolaunches one that outlives
 * the test) and the fake GitHub/Copilot upstream. The tray runs in its own
 * process (fixtures/run-tray.ts), forked with the test hook so the test sees
 * its menu and can click items by key.
 *
 * Its side effects go through the real libraries down to the OS boundary:
 * the tray owns the real X clipboard of the Xvfb display itself (read back
 * with xclip); open's xdg-open launches $BROWSER (and the XDG default browser,
 * where xdg-mime exists), a stub script that records the URL; node-notifier
 * runs notify-send, a stub first on PATH that records its argv.
 *
 * TRAY_TEST_CHILD=fake runs it against fixtures/fake-child.ts instead of the
 * real proxy child (src/proxy/child-main.ts).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/index.ts';
import { forkTestTray } from './fixtures/fork-tray.ts';
import { alive, desktopSkip, freePort, isClipboardHelper, killAndWait, processesWith, run, sleep, startSessionBus, startTrayer, startXvfb, waitUntil } from '../helpers/desktop.ts';
import { runCli } from '../helpers/cli.ts';
import { usageRecordSchema } from '../../src/usage/record.ts';
import { recorder, registerDefaultBrowser, type Recorder } from '../helpers/os-stubs.ts';
import type { HookMenuItem, TrayToTest } from '../../src/tray/test-hook.ts';
import { creditsLine, premiumLine, usageBodySchema } from '../../src/usage/api.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const artifacts = path.join(root, 'test-artifacts');

const skip = desktopSkip();

describe('tray under Xvfb with the real systray2 binary', { skip, timeout: 180_000 }, () => {
  const procs: ChildProcess[] = [];
  let tmp = '';
  let display = '';
  let env: NodeJS.ProcessEnv = {};
  let fake: FakeUpstream | null = null;
  let tray: ChildProcess | null = null;
  let githubToken = '';
  let port = 0;
  const events: TrayToTest[] = [];
  let trayLog = '';
  let browser: Recorder;
  let notifySend: Recorder;
  /** In the env of the tray and of everything it starts; see processesWith. */
  let marker = '';

  const lastMenu = (): HookMenuItem[] | null => {
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i]!;
      if (e.type === 'tray-test-menu') return e.items;
    }
    return null;
  };
  const item = (key: string): HookMenuItem | undefined => lastMenu()?.find((i) => i.key === key);
  const click = (key: string) => tray?.send({ type: 'tray-test-click', key });
  const health = async (): Promise<{ status: number; body: unknown } | null> => {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health`);
      return { status: r.status, body: await r.json() };
    } catch {
      return null;
    }
  };
  /** The real X clipboard of the test display. */
  const clipboardText = async (): Promise<string | null> => {
    const r = await run('xclip', ['-o', '-selection', 'clipboard'], env);
    return r.code === 0 ? r.stdout : null;
  };
  const clipboardBecomes = (text: string) => waitUntil(`${JSON.stringify(text)} on the X clipboard`, async () => (await clipboardText()) === text, 15_000);
  /** notify-send calls as [title, message]. */
  const notifications = (): Array<[string, string]> => notifySend.calls().map((a) => [a[0] ?? '', a[1] ?? '']);
  /** The image notify-send was given (node-notifier's --icon) for the notification titled `title`, as a file name. */
  const iconOf = (title: string): string | null => {
    const call = notifySend.calls().find((a) => a[0] === title);
    const i = call?.indexOf('--icon') ?? -1;
    return call && i >= 0 ? path.basename(call[i + 1] ?? '') : null;
  };
  const proxyPid = (): number | null => {
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i]!;
      if (e.type === 'tray-test-proxy' && e.status === 'running') return e.childPid;
    }
    return null;
  };

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-tray-it-'));
    marker = `GCS_TRAY_IT_RUN=${tmp}`;
    display = await startXvfb(procs);
    // The OS boundary: a browser and notify-send that record what reached them.
    const bin = path.join(tmp, 'bin');
    browser = recorder(bin, 'test-browser');
    notifySend = recorder(bin, 'notify-send');
    registerDefaultBrowser(path.join(tmp, 'config'), path.join(tmp, 'share'), browser.path);

    const dbusAddress = await startSessionBus(procs);

    // No XDG_CURRENT_DESKTOP/DESKTOP_SESSION/…: xdg-open uses its generic path (XDG default browser, then $BROWSER).
    env = {
      PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
      HOME: tmp,
      DISPLAY: display,
      DBUS_SESSION_BUS_ADDRESS: dbusAddress,
      NO_AT_BRIDGE: '1',
      XDG_CONFIG_HOME: path.join(tmp, 'config'),
      XDG_DATA_HOME: path.join(tmp, 'share'),
      XDG_RUNTIME_DIR: tmp,
      BROWSER: browser.path,
    };
    await startTrayer(procs, env);

    fake = await startFakeUpstream();
    githubToken = fake.createGithubToken();
    port = await freePort();
    fs.mkdirSync(artifacts, { recursive: true });
    // Signed in through the token file (not the env), as after `auth`: a later sign-in replaces it, and a restarted child reads that.
    fs.mkdirSync(path.join(tmp, 'data'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(tmp, 'data', 'tokens.json'), JSON.stringify({ github_token: githubToken, oauth_app: 'vscode' }), { mode: 0o600 });

    tray = forkTestTray({
      env,
      dataDir: path.join(tmp, 'data'),
      upstreamUrl: fake.url,
      port,
      events,
      onOutput: (text) => (trayLog += text),
      extra: {
        [marker.slice(0, marker.indexOf('='))]: marker.slice(marker.indexOf('=') + 1),
        TRAY_TEST_CHILD: process.env.TRAY_TEST_CHILD ?? 'real',
      },
    });
  });

  after(async () => {
    if (tray && tray.exitCode === null) {
      tray.send?.({ type: 'tray-test-quit' });
      await Promise.race([new Promise((r) => tray!.once('exit', r)), sleep(5000)]);
      await killAndWait(tray);
    }
    await fake?.close();
    // xsel's daemon keeps serving the last copied text after the tray quit (that is what a
    // clipboard is for); the test's display is going away, so end it, and anything else the tray left.
    const leftovers = marker ? processesWith(marker) : [];
    for (const p of leftovers) {
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
    for (const p of procs.reverse()) await killAndWait(p);
    for (const p of leftovers) await waitUntil(`${p.cmd} (pid ${p.pid}) gone`, () => !alive(p.pid), 5000);
    fs.rmSync(tmp, { recursive: true, force: true });
    if (process.exitCode) process.stderr.write(`--- tray output ---\n${trayLog}\n`);
  });

  it('shows the tray icon and starts the proxy child, which answers /health', async () => {
    const ui = await waitUntil('tray ui', () => events.find((e) => e.type === 'tray-test-ui'));
    assert.equal(ui.type === 'tray-test-ui' && ui.ui, 'ready', `tray fell back to headless: ${ui.type === 'tray-test-ui' ? ui.reason : ''}\n${trayLog}`);
    await waitUntil('proxy running', () => proxyPid());
    const h = await waitUntil('/health', () => health());
    assert.equal(h.status, 200);
    const icon = await waitUntil('tray icon window', async () => {
      const r = await run('xdotool', ['search', '--class', 'systray'], env);
      return r.code === 0 && r.stdout.trim().split('\n')[0];
    });
    assert.ok(icon);
  });

  it('finds trayer as the tray host: "Tray icon ready" names it, no warning, and `status` says so too', async () => {
    const host = await waitUntil('tray host check', () => events.find((e) => e.type === 'tray-test-host'));
    assert.deepEqual(host, { type: 'tray-test-host', probe: { kind: 'found', hosts: [{ kind: 'xembed', display }] } });
    await waitUntil('"Tray icon ready"', () => trayLog.includes('Tray icon ready'));
    assert.match(trayLog, new RegExp(`\\[tray\\].*Tray icon ready \\(XEmbed tray on ${display}\\)`));
    assert.doesNotMatch(trayLog, /No tray host found/);
    assert.ok(!notifications().some(([t]) => /no system tray/.test(t)), 'no warning notification');
    const r = await runCli(['status'], { ...env, GITHUB_COPILOT_SVCS_HOME: path.join(tmp, 'status-home'), GITHUB_COPILOT_SVCS_KEYCHAIN: 'off', GITHUB_COPILOT_SVCS_PORT: '1' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Tray host: XEmbed tray on ${display}$`, 'm'));
  });

  it('status line shows the healthy token and the proxy URL', async () => {
    await waitUntil('healthy status', () => item('status')?.title.startsWith('✅ Token is healthy — expires in'));
    assert.equal(item('proxy')?.title, `Proxy: http://localhost:${port}/v1 (running)`);
    await waitUntil('models loaded', () => item('model-0')?.enabled);
  });

  it('"Open dashboard" launches the browser on the dashboard, and the premium line shows the numbers /usage gives it', async () => {
    const mark = events.length;
    const browserCallsBefore = browser.calls().length;
    click('dashboard');
    const opened = await waitUntil('dashboard opened', () => events.slice(mark).find((e) => e.type === 'tray-test-open'));
    assert.deepEqual(opened, { type: 'tray-test-open', target: `http://localhost:${port}/`, error: null });
    await waitUntil('the browser to be launched', () => browser.calls().length > browserCallsBefore);
    assert.deepEqual(browser.calls().slice(browserCallsBefore), [[`http://localhost:${port}/`]]);
    const page = await fetch(`http://localhost:${port}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>GitHub Copilot proxy<\/title>/);
    // The dashboard's gauge line and the tray's menu line: one function, one source of numbers (the child's quota).
    const usage = usageBodySchema.parse(await (await fetch(`http://127.0.0.1:${port}/usage`)).json());
    await waitUntil('premium line loaded', () => item('usage')?.title === premiumLine(usage));
  });

  it('the AI-credits line is what the fake charged; a weekly limit shows ⚠️ in the menu and notifies once when it starts and once when it ends', async () => {
    assert.ok(fake);
    const chat = (content: string) =>
      fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'claude-sonnet-4', messages: [{ role: 'user', content }] }),
      });
    assert.equal((await chat('what does this cost?')).status, 200);
    const usage = async () => usageBodySchema.parse(await (await fetch(`http://127.0.0.1:${port}/usage`)).json());
    await waitUntil('the record written', async () => (await usage()).local.credits.month.nanoAiu === fake?.chargedNanoAiu);
    click('credits');
    const credits = (await usage()).local.credits;
    await waitUntil('credits line', () => item('credits')?.title === creditsLine(credits));
    assert.match(creditsLine(credits), /^AI credits: (<0\.01|[\d.,]+) used · resets \w{3} 1$/);

    // Copilot's weekly limit: one 429 upstream, then the menu says so until it ends (3 s here).
    const notes = notifications().length;
    fake.usageLimit = { kind: 'weekly', untilMs: fake.clock.now() + 3000, plan: 'individual_pro', retryAfterHeader: true };
    assert.equal((await chat('limited?')).status, 429);
    const limit = await waitUntil('the limit line', () => (item('limit')?.hidden === false ? item('limit') : null));
    assert.match(limit.title, /^⚠️ Rate-limited \(weekly\) until \w{3} \d\d:\d\d$/);
    await waitUntil('limit gone', () => item('limit')?.hidden === true, 10_000);
    await waitUntil('the end notified', () => notifications().length >= notes + 2, 10_000);
    const said = notifications().slice(notes).map(([title]) => title);
    assert.deepEqual(said, ['Copilot weekly limit reached', 'Copilot weekly limit ended']);
    // Each with the icon of its state, as notify-send got it.
    assert.deepEqual(said.map(iconOf), ['tray-warning-32.png', 'tray-healthy-32.png']);
    assert.equal((await chat('and now?')).status, 200);
  });

  it('"Set up a client… > Claude Code" runs the same setup as the CLI: settings.json written for this proxy, the route checked, a notification', async () => {
    click('setup-claude-code');
    const file = path.join(tmp, '.claude', 'settings.json');
    await waitUntil('settings.json written', () => fs.existsSync(file), 20_000);
    const written: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.ok(typeof written === 'object' && written !== null && 'env' in written && typeof written.env === 'object' && written.env !== null && 'ANTHROPIC_BASE_URL' in written.env);
    assert.match(String(written.env.ANTHROPIC_BASE_URL), /^http:\/\/localhost:\d+$/);
    await waitUntil('setup notification (notify-send)', () => notifications().some(([t, m]) => t === 'Set up claude-code' && /✅ POST \/v1\/messages\/count_tokens answers/.test(m)), 20_000);
    assert.equal(iconOf('Set up claude-code'), 'tray-healthy-32.png');
  });

  it('clicking the Proxy line and a model puts the base URL and the model id on the real X clipboard', async () => {
    let mark = events.length;
    click('proxy');
    const url = await waitUntil('base URL copied', () => events.slice(mark).find((e) => e.type === 'tray-test-clipboard'));
    assert.deepEqual(url, { type: 'tray-test-clipboard', text: `http://localhost:${port}/v1`, error: null });
    await clipboardBecomes(`http://localhost:${port}/v1`);

    // A second model when there is one, so the id differs from what a default would give.
    const model = ['model-1', 'model-0'].map((k) => item(k)).find((i) => i?.enabled && !i.hidden && i.title);
    assert.ok(model, JSON.stringify(lastMenu()));
    assert.ok(fake!.models.some((m) => m.id === model.title), `${model.title} is a model of the upstream`);
    mark = events.length;
    click(model.key);
    await waitUntil('model id copied', () => events.slice(mark).find((e) => e.type === 'tray-test-clipboard' && e.error === null));
    await clipboardBecomes(model.title);
    // The tray owns the clipboard itself: no xsel/xclip helper was started to hold it.
    assert.deepEqual(processesWith(marker).filter(isClipboardHelper), []);
  });

  it('clicking "Refresh token now" in the real menu causes a token exchange upstream', async () => {
    const before = fake!.counts.exchange;
    const win = (await run('xdotool', ['search', '--class', 'systray'], env)).stdout.trim().split('\n')[0]!;
    // Open the menu on the icon, screenshot it, then walk to the item with the keyboard:
    // GTK menus skip disabled, hidden and separator items, so count only the selectable ones.
    await run('xdotool', ['mousemove', '--window', win, '8', '8', 'click', '1'], env);
    await sleep(700);
    const shot = path.join(artifacts, 'tray-menu.png');
    const imp = await run('import', ['-window', 'root', shot], env);
    assert.equal(imp.code, 0, imp.stderr);
    assert.ok(fs.statSync(shot).size > 1000);
    const menu = lastMenu()!;
    const selectable = menu.filter((i) => !i.hidden && i.enabled && i.title !== '<SEPARATOR>' && !i.key.startsWith('model-'));
    const steps = selectable.findIndex((i) => i.key === 'refresh') + 1;
    assert.ok(steps > 0);
    await run('xdotool', ['key', '--delay', '80', ...Array<string>(steps).fill('Down'), 'Return'], env);
    const clicked = await waitUntil('click from the systray binary', () => events.find((e) => e.type === 'tray-test-clicked' && e.key === 'refresh'), 10_000);
    assert.equal(clicked.type === 'tray-test-clicked' && clicked.source, 'systray');
    await waitUntil('exchange at the fake upstream', () => fake!.counts.exchange > before);
    await waitUntil('refresh finished', () => item('refresh')?.title === 'Refresh token now' && item('refresh')?.enabled);
  });

  it('the status line follows the token state', async () => {
    fake!.revokeGithubToken(githubToken);
    click('refresh');
    await waitUntil('❌ status', () => item('status')?.title.startsWith('❌'));
    assert.equal(item('sign-in')?.title, 'Sign in with GitHub…');
    await waitUntil('sign-in needed notification (notify-send)', () => notifications().some(([t]) => t === 'GitHub Copilot: sign-in needed'));
    assert.equal(iconOf('GitHub Copilot: sign-in needed'), 'tray-error-32.png', 'not the green healthy icon');
    await waitUntil('error icon', () => {
      for (let i = events.length - 1; i >= 0; i--) {
        const e = events[i]!;
        if (e.type === 'tray-test-menu') return e.icon === 'error';
      }
      return false;
    });
  });

  it('Sign in with GitHub… copies the code, opens the browser, shows the code, then goes back to ✅', async () => {
    fake!.deviceFlow.interval = 1;
    const mark = events.length;
    const since = () => events.slice(mark);
    click('sign-in');
    const browserCallsBefore = browser.calls().length;
    const code = await waitUntil('code in the menu', () => (item('sign-in-code')?.hidden === false && /^Enter code /.test(item('sign-in-code')!.title) ? item('sign-in-code') : null));
    const copied = await waitUntil('code copied', () => since().find((e) => e.type === 'tray-test-clipboard'));
    const opened = await waitUntil('browser launched', () => since().find((e) => e.type === 'tray-test-open'));
    assert.ok(copied.type === 'tray-test-clipboard' && copied.error === null && code.title.includes(copied.text), `${code.title} should show ${JSON.stringify(copied)}`);
    assert.ok(opened.type === 'tray-test-open' && opened.error === null && /^http:\/\/127\.0\.0\.1:\d+\/login\/device$/.test(opened.target), JSON.stringify(opened));
    // What reached the OS: the code on the X clipboard, the page in the browser, a notification.
    await clipboardBecomes(copied.text);
    await waitUntil('the browser to be launched', () => browser.calls().length > browserCallsBefore);
    assert.deepEqual(browser.calls().slice(browserCallsBefore), [[opened.target]]);
    await waitUntil('"Sign in to GitHub" notification (notify-send)', () =>
      notifications().some(([t, m]) => t === 'Sign in to GitHub' && m.includes(`Code ${copied.text} is on the clipboard`)),
    );
    await waitUntil('sign-in done notification', () => since().find((e) => e.type === 'tray-test-notify' && e.title === 'Signed in to GitHub Copilot'));
    await waitUntil('sign-in done notification (notify-send)', () => notifications().some(([t, m]) => t === 'Signed in to GitHub Copilot' && m === 'The proxy is ready to use.'));
    assert.equal(iconOf('Sign in to GitHub'), 'tray-warning-32.png');
    assert.equal(iconOf('Signed in to GitHub Copilot'), 'tray-healthy-32.png');
    await waitUntil('✅ again', () => item('status')?.title.startsWith('✅ Token is healthy'));
    assert.equal(item('sign-in-code')?.hidden, true);
  });

  it('Sign out forgets the sign-in at once: ❌ in the menu, needs_auth in /health, tokens.json gone; signing in again works', async () => {
    const tokenFile = path.join(tmp, 'data', 'tokens.json');
    assert.ok(fs.existsSync(tokenFile), 'signed in through the token file');
    assert.equal(item('sign-out')?.hidden, false);
    click('sign-out');
    await waitUntil('❌ after sign-out', () => item('status')?.title.startsWith('❌'));
    await waitUntil('the token file removed', () => !fs.existsSync(tokenFile));
    const h = await waitUntil('/health', () => health());
    const body = h.body;
    assert.ok(typeof body === 'object' && body !== null && 'status' in body && body.status === 'needs_auth', JSON.stringify(body));
    assert.equal(item('sign-out')?.hidden, true, 'nothing to sign out of');
    // Back in, for the tests after this one.
    click('sign-in');
    await waitUntil('✅ after signing in again', () => item('status')?.title.startsWith('✅ Token is healthy'), 30_000);
    assert.ok(fs.existsSync(tokenFile));
  });

  it('restarts the proxy child after it is killed', async () => {
    const first = proxyPid()!;
    process.kill(first, 'SIGKILL');
    await waitUntil('restarting', () => item('proxy')?.title.startsWith('Proxy: restarting'));
    await waitUntil('crash notification (notify-send)', () =>
      notifications().some(([t, m]) => t === 'GitHub Copilot proxy crashed' && m === 'It stopped (SIGKILL); restarting it.'),
    );
    assert.equal(iconOf('GitHub Copilot proxy crashed'), 'tray-stopped-32.png');
    const second = await waitUntil('new child', () => {
      const p = proxyPid();
      return p !== null && p !== first && p;
    });
    assert.notEqual(second, first);
    const h = await waitUntil('/health after restart', () => health());
    assert.equal(h.status, 200);
    await waitUntil('running again', () => item('proxy')?.title.endsWith('(running)'));
  });

  it('Quit waits for a stream in flight (timeouts.shutdown, not 5 s), keeps its usage record, and leaves no process behind, clipboard helper included', async () => {
    assert.ok(fake);
    const chat = (stream: boolean) =>
      fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'quit-test/1.0' },
        body: JSON.stringify({ model: 'gpt-4.1', stream, messages: [{ role: 'user', content: 'a slow answer, please' }] }),
      });
    // How many events this answer has, so the slow one lasts about 7 s: past the old 5 s SIGKILL, inside the 10 s drain.
    const events0 = (await (await chat(true)).text()).split('\n\n').filter((e) => e.startsWith('data:')).length;
    assert.ok(events0 >= 3, `${events0} events`);
    fake.faultNext(1, 'trickle', { path: '/chat/completions', delayMs: Math.round(7000 / (events0 - 1)) });

    const childPid = proxyPid()!;
    const ui = events.find((e) => e.type === 'tray-test-ui');
    const binPid = ui?.type === 'tray-test-ui' ? ui.binPid : null;
    assert.ok(binPid);
    const trayPid = tray!.pid!;
    const exited = new Promise<number | null>((r) => tray!.once('exit', (code) => r(code)));
    let trayExitedAt = 0;
    void exited.then(() => (trayExitedAt = Date.now()));

    const res = await chat(true);
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let body = decoder.decode((await reader.read()).value);
    // The stream is in flight: Quit now.
    const quitAt = Date.now();
    click('quit');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      body += decoder.decode(value, { stream: true });
    }
    const streamEndedAt = Date.now();
    assert.match(body, /data: \[DONE\]/, 'the stream was not cut');
    assert.equal(body.split('\n\n').filter((e) => e.startsWith('data:')).length, events0);
    assert.ok(streamEndedAt - quitAt > 5000, `the stream outlived the old 5 s deadline (${streamEndedAt - quitAt} ms)`);
    assert.equal(await exited, 0);
    assert.ok(trayExitedAt >= streamEndedAt, 'the tray exited after the stream ended');
    assert.doesNotMatch(trayLog, /did not stop within/, 'the child was not killed');
    for (const pid of [childPid, binPid, trayPid]) await waitUntil(`pid ${pid} gone`, () => !alive(pid), 5000);
    assert.equal(await health(), null, 'nothing listens on the proxy port any more');

    // The slow request's usage record reached the disk before the child exited.
    const usageDir = path.join(tmp, 'data', 'usage');
    const records = fs
      .readdirSync(usageDir)
      .flatMap((f) => fs.readFileSync(path.join(usageDir, f), 'utf8').split('\n').filter(Boolean))
      .map((l) => usageRecordSchema.parse(JSON.parse(l)));
    assert.ok(
      records.some((r) => r.stream && r.status === 200 && r.duration_ms > 5000 && r.completion_tokens !== null),
      `no record of the slow stream in ${JSON.stringify(records.map((r) => [r.stream, r.duration_ms]))}`,
    );

    // Nothing the tray started is left: no launcher, no notify-send, and no clipboard helper holding the last copy.
    await waitUntil('no process left by the tray', () => processesWith(marker).length === 0, 5000).catch(() => {
      assert.fail(`left behind: ${JSON.stringify(processesWith(marker))}`);
    });
    // Its clipboard went with it (nothing owns CLIPBOARD now), like any X client's without a clipboard manager.
    assert.equal(await clipboardText(), null);
  });
});
