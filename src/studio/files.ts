/**
 * Where the explorer's files are, in a checkout or an installed package: the built page
 * (`npm run build` bundles it into dist/src/studio/page/), tfjs-backend-wasm's binaries, and the example
 * images in assets/examples. `serve` answers from these folders; `studio --out` copies them.
 */
import { existsSync, promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StudioFiles {
  /** The built page: index.html and what it loads. */
  page: string;
  pageFiles: string[];
  wasmDir: string;
  /** The wasm binaries the page may ask for (plain, SIMD, threaded SIMD). */
  wasm: string[];
  examples: string;
  /** The copies of src/ the forward-pass walk shows (src/model, src/image, src/tokenizer). */
  source: string;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PACKAGE_ROOT = path.resolve(HERE, '..', '..', '..');

/** The page's files, as the build writes them. */
export const PAGE_FILES = ['index.html', 'explorer.js', 'explorer.css', 'style.css'];
export const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];
const IMAGE = /\.(png|jpe?g)$/i;

export function studioFiles(): StudioFiles {
  const require = createRequire(import.meta.url);
  const page = path.join(HERE, 'page');
  if (!existsSync(path.join(page, 'index.html'))) throw new Error(`the explorer's page ${page} is missing; run \`npm run build\``);
  return {
    page,
    pageFiles: PAGE_FILES,
    wasmDir: path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')),
    wasm: WASM_FILES,
    examples: path.join(PACKAGE_ROOT, 'assets', 'examples'),
    source: path.join(page, 'source'),
  };
}

/** The example images' file names, sorted. */
export async function exampleImages(files: StudioFiles): Promise<string[]> {
  const names = await fs.readdir(files.examples).catch(() => []);
  return names.filter((n) => IMAGE.test(n)).sort();
}
