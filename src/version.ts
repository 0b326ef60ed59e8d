import { createRequire } from 'node:module';
import { z } from 'zod';

const require = createRequire(import.meta.url);
const pkg = z.object({ version: z.string() }).parse(require('../package.json'));

export const VERSION: string = pkg.version;
