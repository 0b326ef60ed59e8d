#!/usr/bin/env node
// Installs the real client programs the conformance suite runs (test/clients/package.json,
// pinned, from the npm registry) and the official OpenAI Python SDK in a venv (from pip).
// Idempotent: does nothing when both are already there at the pinned versions.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const dir = path.dirname(new URL(import.meta.url).pathname);
export const PYTHON_OPENAI = '2.54.0';
const step = (what, fn) => {
  const t = Date.now();
  process.stderr.write(`clients: ${what}…\n`);
  fn();
  process.stderr.write(`clients: ${what} done in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
};

const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
const installed = (name, want) => {
  try {
    const p = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8'));
    return want.endsWith(`@${p.version}`) || p.version === want;
  } catch {
    return false;
  }
};
if (!Object.entries(pkg.dependencies).every(([n, v]) => installed(n, v))) {
  step('npm install (Claude Code, Codex, opencode; exact versions)', () => execFileSync('npm', ['install', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'inherit' }));
}

const venv = path.join(dir, '.venv');
const py = path.join(venv, 'bin', 'python');
const hasSdk = () => {
  try {
    return execFileSync(py, ['-c', 'import openai; print(openai.__version__)'], { encoding: 'utf8' }).trim() === PYTHON_OPENAI;
  } catch {
    return false;
  }
};
if (!hasSdk()) {
  step(`python venv with openai==${PYTHON_OPENAI}`, () => {
    if (!fs.existsSync(py)) execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(path.join(venv, 'bin', 'pip'), ['install', '--quiet', '--retries', '0', `openai==${PYTHON_OPENAI}`], { stdio: 'inherit' });
  });
  if (!hasSdk()) throw new Error('the OpenAI Python SDK did not install');
}
