import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFakeUpstream } from '/work/main/test/fake-upstream/index.ts';
const fake = await startFakeUpstream();
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mem-'));
const env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: home, GITHUB_COPILOT_SVCS_HOME: home, GITHUB_COPILOT_SVCS_KEYCHAIN: 'off', GITHUB_COPILOT_SVCS_GITHUB_URL: fake.url, GITHUB_COPILOT_SVCS_GITHUB_API_URL: fake.url, GITHUB_COPILOT_SVCS_COPILOT_API_URL: fake.url, GITHUB_COPILOT_SVCS_GITHUB_TOKEN: fake.createGithubToken(), GITHUB_COPILOT_SVCS_DEBUG_ENDPOINTS: 'true' };
const port = 24000 + Math.floor(Math.random() * 1000);
const extra = (process.env.NODE_ARGS ?? '').split(' ').filter(Boolean);
const c = spawn(process.execPath, [...extra, '/work/main/dist/github-copilot-svcs.mjs', 'run', '--port', String(port)], { env, stdio: ['ignore', 'ignore', 'inherit'], cwd: '/' });
for (let i = 0; i < 100; i++) { try { if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break; } catch {} await new Promise((r) => setTimeout(r, 100)); }
await new Promise((r) => setTimeout(r, Number(process.env.WAIT ?? 2500)));
const st = fs.readFileSync(`/proc/${c.pid}/status`, 'utf8');
console.log(st.split('\n').filter((l) => /VmRSS|RssAnon|RssFile/.test(l)).join('  '));
const m = await (await fetch(`http://127.0.0.1:${port}/debug/memory`)).json();
console.log(JSON.stringify(m).slice(0, 3000));
if (process.env.SMAPS) { const sm = fs.readFileSync(`/proc/${c.pid}/smaps`, 'utf8'); const rows: Array<[string, number]> = []; let cur = ''; for (const l of sm.split('\n')) { if (/^[0-9a-f]+-/.test(l)) cur = l.split(/\s+/).slice(5).join(' ') || '[anon]'; const r = /^Rss:\s+(\d+)/.exec(l); if (r) rows.push([cur, Number(r[1])]); } const agg = new Map<string, number>(); for (const [k, v] of rows) agg.set(k, (agg.get(k) ?? 0) + v); console.log([...agg].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `${(v / 1024).toFixed(1)}MB ${k}`).join('\n')); }
c.kill('SIGTERM');
await fake.close();
