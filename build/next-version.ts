/**
 * The next release version, for the release workflow: the highest `vX.Y.Z` tag
 * bumped by the commits since it (conventional-commit style: `type!:` or a
 * `BREAKING CHANGE:` footer → major, `feat:` → minor, anything else → patch).
 * No tag yet → v0.0.1.
 *
 *   node --import tsx build/next-version.ts   # prints version=0.0.2 and tag=v0.0.2 (GITHUB_OUTPUT lines)
 */
import { execFileSync } from 'node:child_process';
import { isMainModule } from './main-module.mjs';

export type Bump = 'major' | 'minor' | 'patch';

const TAG = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/** The highest semver among `tags` (others ignored), or null. */
export function latestTag(tags: readonly string[]): [number, number, number] | null {
  let best: [number, number, number] | null = null;
  for (const t of tags) {
    const m = TAG.exec(t.trim());
    if (!m) continue;
    const v: [number, number, number] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (!best || v[0] > best[0] || (v[0] === best[0] && (v[1] > best[1] || (v[1] === best[1] && v[2] > best[2])))) best = v;
  }
  return best;
}

/** The bump one commit message asks for. */
export function bumpOf(message: string): Bump {
  const [subject = '', ...body] = message.split('\n');
  if (/^[a-z]+(\([^)]*\))?!:/i.test(subject) || body.some((l) => /^BREAKING[ -]CHANGE:/.test(l))) return 'major';
  if (/^feat(\([^)]*\))?:/i.test(subject)) return 'minor';
  return 'patch';
}

export function nextVersion(tags: readonly string[], messages: readonly string[]): string {
  const last = latestTag(tags);
  if (!last) return '0.0.1';
  const bumps = messages.map(bumpOf);
  const [major, minor, patch] = last;
  if (bumps.includes('major')) return `${major + 1}.0.0`;
  if (bumps.includes('minor')) return `${major}.${minor + 1}.0`;
  return `${major}.${minor}.${patch + 1}`;
}

function git(args: string[]): string {
  return execFileSync('git', args, { encoding: 'utf8' });
}

if (isMainModule(import.meta.url)) {
  const tags = git(['tag', '--list', 'v*']).split('\n').filter(Boolean);
  const last = latestTag(tags);
  const range = last ? [`v${last.join('.')}..HEAD`] : ['HEAD'];
  // NUL-separated full messages, so bodies (BREAKING CHANGE footers) are kept.
  const messages = git(['log', '--format=%B%x00', ...range]).split('\0').map((m) => m.trim()).filter(Boolean);
  const v = nextVersion(tags, last ? messages : []);
  process.stdout.write(`version=${v}\ntag=v${v}\n`);
}
