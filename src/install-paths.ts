import path from 'node:path';
import { extractSeaAssets } from './runtime/sea-assets.ts';
import { packageRoot } from './runtime/self.ts';

export { packageRoot, selfCommand, selfEntry } from './runtime/self.ts';

/** The icons: beside the package, or extracted from the single-file binary. */
export function assetsDir(): string {
  const extracted = extractSeaAssets();
  return extracted ? path.join(extracted.dir, 'assets') : path.join(packageRoot(), 'assets');
}
