// Types for sea.mjs (a plain script: node runs it without a build step), for the tests that import it.
export type Target = 'linux-x64' | 'linux-arm64' | 'darwin-x64' | 'darwin-arm64' | 'win32-x64' | 'win32-arm64';
export declare const NODE_VERSION: string;
export declare const TARGETS: Readonly<Record<Target, { pkg: string; node: string; tray: string | null }>>;
export declare const NODE_SHA256: Readonly<Record<Target, string>>;
export declare function sha256File(file: string): string;
export declare function verifyNodeBinary(target: Target, file: string, what: string, expected?: string): void;
export declare function nodeBinary(
  target: Target,
  options?: { download?: (target: Target, tmp: string) => string; pins?: Readonly<Record<Target, string>> },
): string;
