import { createRequire } from 'node:module';

/**
 * The version from package.json, and what the build stamped in (commit and
 * date; `dev` when run from the sources). Loads nothing else: `version` must
 * start fast.
 */
// Replaced by the bundler (build/bundle.mjs) with the package.json version, the commit and the date; absent when running from src/.
declare const __GCS_VERSION__: string | undefined;
declare const __GCS_COMMIT__: string | undefined;
declare const __GCS_BUILD_DATE__: string | undefined;

function sourceVersion(): string {
  // Running from src/ (tsx): read it beside the sources.
  const pkg: unknown = createRequire(import.meta.url)('../package.json');
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

export const VERSION: string = typeof __GCS_VERSION__ === 'string' ? __GCS_VERSION__ : sourceVersion();

export const BUILD = {
  commit: typeof __GCS_COMMIT__ === 'string' ? __GCS_COMMIT__ : 'dev',
  date: typeof __GCS_BUILD_DATE__ === 'string' ? __GCS_BUILD_DATE__ : 'dev',
};

/** `github-copilot-svcs 0.1.0 (commit abc1234, built 2026-11-30; node v20.20.2, linux-x64)` */
export function versionLine(): string {
  return `github-copilot-svcs ${VERSION} (commit ${BUILD.commit}, built ${BUILD.date}; node ${process.version}, ${process.platform}-${process.arch})`;
}
