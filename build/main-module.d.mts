// Types for main-module.mjs (a plain script: node runs it without a build step).
export declare function isMainModule(metaUrl: string, argv1?: string): boolean;
