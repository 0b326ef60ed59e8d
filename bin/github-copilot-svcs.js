#!/usr/bin/env node
// Thin launcher: runs the TypeScript entry through tsx's loader, so a clone works
// without a build step.
import { register } from 'tsx/esm/api';
register();
await import('../src/main.ts');
