import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  WINDOWS_RUN_KEY,
  autostartLocation,
  autostartStatus,
  describeAutostart,
  desktopEntry,
  disableAutostart,
  enableAutostart,
  launchAgentPlist,
  windowsRunCommand,
  type RegRunner,
} from '../../src/tray/autostart.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gcs-autostart-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const command = ['/opt/node 20/bin/node', '/home/u/app/bin/github-copilot-svcs.js', 'tray'];

describe('autostart generators', () => {
  it('desktop entry quotes arguments per the Desktop Entry spec', () => {
    const text = desktopEntry(['/opt/my node/node', '/a/b.js', 'tray', '100%', 'a"b'], '/i.png');
    assert.match(text, /^\[Desktop Entry\]\nType=Application\n/);
    assert.match(text, /^Exec="\/opt\/my node\/node" \/a\/b\.js tray 100%% "a\\\\"b"$/m);
    assert.match(text, /^Icon=\/i\.png$/m);
    assert.match(text, /^X-GNOME-Autostart-enabled=true$/m);
  });

  it('LaunchAgent plist runs the command at load and escapes XML', () => {
    const text = launchAgentPlist(['/usr/local/bin/node', '/x/<&>.js', 'tray']);
    assert.match(text, /<key>Label<\/key>\n {2}<string>io\.github\.github-copilot-svcs<\/string>/);
    assert.match(text, /<array>\n {4}<string>\/usr\/local\/bin\/node<\/string>\n {4}<string>\/x\/&lt;&amp;&gt;\.js<\/string>\n {4}<string>tray<\/string>\n {2}<\/array>/);
    assert.match(text, /<key>RunAtLoad<\/key>\n {2}<true\/>/);
  });

  it('Windows Run value quotes every argument', () => {
    assert.equal(windowsRunCommand(['C:\\Program Files\\nodejs\\node.exe', 'C:\\app\\bin.js', 'tray']), '"C:\\Program Files\\nodejs\\node.exe" "C:\\app\\bin.js" "tray"');
    assert.equal(windowsRunCommand(['a"b', 'c\\']), '"a\\"b" "c\\\\"');
  });
});

describe('autostart enable/disable/status', () => {
  it('Linux: writes, reports and removes $XDG_CONFIG_HOME/autostart/github-copilot-svcs.desktop', async () => {
    const home = path.join(tmp, 'linux');
    const opts = { platform: 'linux' as const, homeDir: home, env: { XDG_CONFIG_HOME: path.join(home, 'cfg') }, command, iconPath: '/icon.png' };
    const file = path.join(home, 'cfg', 'autostart', 'github-copilot-svcs.desktop');
    assert.equal(autostartLocation(opts), file);
    assert.equal((await autostartStatus(opts)).enabled, false);
    const on = await enableAutostart(opts);
    assert.equal(on.enabled, true);
    assert.equal(fs.readFileSync(file, 'utf8'), desktopEntry(command, '/icon.png'));
    assert.equal(on.command, '"/opt/node 20/bin/node" /home/u/app/bin/github-copilot-svcs.js tray');
    assert.equal(describeAutostart(on), `Start at login: enabled (${file})\n  runs: "/opt/node 20/bin/node" /home/u/app/bin/github-copilot-svcs.js tray`);
    // A user who disabled it in their desktop's settings: Hidden=true
    fs.writeFileSync(file, `${desktopEntry(command, '/icon.png')}Hidden=true\n`);
    assert.equal((await autostartStatus(opts)).enabled, false);
    const off = await disableAutostart(opts);
    assert.equal(off.enabled, false);
    assert.equal(fs.existsSync(file), false);
    assert.equal((await disableAutostart(opts)).enabled, false); // twice is fine
  });

  it('Linux: falls back to ~/.config when XDG_CONFIG_HOME is unset or relative', () => {
    const home = path.join(tmp, 'h');
    assert.equal(autostartLocation({ platform: 'linux', homeDir: home, env: {} }), path.join(home, '.config', 'autostart', 'github-copilot-svcs.desktop'));
    assert.equal(autostartLocation({ platform: 'linux', homeDir: home, env: { XDG_CONFIG_HOME: 'rel' } }), path.join(home, '.config', 'autostart', 'github-copilot-svcs.desktop'));
  });

  it('macOS: writes and removes the LaunchAgent plist', async () => {
    const home = path.join(tmp, 'mac');
    const opts = { platform: 'darwin' as const, homeDir: home, command };
    const file = path.join(home, 'Library', 'LaunchAgents', 'io.github.github-copilot-svcs.plist');
    const on = await enableAutostart(opts);
    assert.equal(on.location, file);
    assert.equal(on.enabled, true);
    assert.equal(fs.readFileSync(file, 'utf8'), launchAgentPlist(command));
    assert.equal(on.command, command.join(' '));
    assert.equal((await disableAutostart(opts)).enabled, false);
    assert.equal(fs.existsSync(file), false);
  });

  it('Windows: adds, queries and deletes the HKCU Run value through reg', async () => {
    const values = new Map<string, string>();
    const calls: string[][] = [];
    const runReg: RegRunner = async (args) => {
      calls.push(args);
      const [op, key, , name] = args;
      assert.equal(key, WINDOWS_RUN_KEY);
      if (op === 'add') {
        values.set(name!, args[args.indexOf('/d') + 1]!);
        return { code: 0, stdout: 'The operation completed successfully.', stderr: '' };
      }
      if (op === 'query') {
        const v = values.get(name!);
        return v === undefined
          ? { code: 1, stdout: '', stderr: 'ERROR: The system was unable to find the specified registry key or value.' }
          : { code: 0, stdout: `\r\n${WINDOWS_RUN_KEY}\r\n    ${name}    REG_SZ    ${v}\r\n`, stderr: '' };
      }
      if (op === 'delete') {
        if (!values.delete(name!)) return { code: 1, stdout: '', stderr: 'ERROR: The system was unable to find the specified registry key or value.' };
        return { code: 0, stdout: '', stderr: '' };
      }
      return { code: 1, stdout: '', stderr: 'bad op' };
    };
    const win = ['C:\\Program Files\\nodejs\\node.exe', 'C:\\app\\bin.js', 'tray'];
    const opts = { platform: 'win32' as const, runReg, command: win };
    assert.equal((await autostartStatus(opts)).enabled, false);
    const on = await enableAutostart(opts);
    assert.deepEqual(calls[1], ['add', WINDOWS_RUN_KEY, '/v', 'github-copilot-svcs', '/t', 'REG_SZ', '/d', windowsRunCommand(win), '/f']);
    assert.equal(on.enabled, true);
    assert.equal(on.command, windowsRunCommand(win));
    assert.equal(on.location, `${WINDOWS_RUN_KEY}\\github-copilot-svcs`);
    assert.equal((await disableAutostart(opts)).enabled, false);
    assert.equal((await disableAutostart(opts)).enabled, false); // not there: still fine
  });

  it('reports unsupported platforms', async () => {
    const s = await autostartStatus({ platform: 'aix' });
    assert.equal(s.supported, false);
    await assert.rejects(enableAutostart({ platform: 'aix' }), /not supported/);
  });
});
