import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeUpstream } from '/work/main/test/fake-upstream/index.ts';
const fake = await startFakeUpstream();
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mem-'));
const env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: home, GITHUB_COPILOT_SVCS_HOME: home, GITHUB_COPILOT_SVCS_KEYCHAIN: 'off', GITHUB_COPILOT_SVCS_GITHUB_URL: fake.url, GITHUB_COPILOT_SVCS_GITHUB_API_URL: fake.url, GITHUB_COPILOT_SVCS_COPILOT_API_URL: fake.url, GITHUB_COPILOT_SVCS_GITHUB_TOKEN: fake.createGithubToken() };
const port = 24000 + Math.floor(Math.random() * 1000);
const args = process.argv.slice(2);
const c = spawn(process.execPath, ['/work/main/dist/github-copilot-svcs.mjs', ...(args.length ? args : ['run', '--port', String(port)])], { env, stdio: ['ignore', 'ignore', 'ignore'], cwd: '/' });
const rss = (pid: number) => { const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8'); const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1]) / 1024; return `${kb('VmRSS').toFixed(1)} (anon ${kb('RssAnon').toFixed(1)})`; };
if (!args.length) for (let i = 0; i < 100; i++) { try { if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break; } catch {} await new Promise((r) => setTimeout(r, 100)); }
if (process.env.REQS) for (let i = 0; i < Number(process.env.REQS); i++) await (await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] }) })).text();
const t0 = Date.now();
for (const t of [1.5, 5, 10, 15, 20, 30, 45, 60]) { await new Promise((r) => setTimeout(r, t * 1000 - (Date.now() - t0))); console.log(`${t}s ${rss(c.pid!)}`); }
c.kill('SIGTERM');
await fake.close();
