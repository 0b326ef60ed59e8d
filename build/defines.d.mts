// Types for defines.mjs (a plain script: node runs it without a build step).
export declare const root: string;
export declare function packageJson(): unknown;
export declare function buildDefines(): Record<string, string>;
export declare const UNDICI_LOADER: RegExp;
