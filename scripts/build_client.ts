/**
 * `npm run build`'s browser half (after `tsc -p .` compiled the Node code, this script with it): each
 * browser bundle's TypeScript is type-checked by tsc against its own tsconfig (DOM types, no emit; a type
 * error fails the build), then esbuild bundles the entry and the ES modules it imports into one file, and
 * the bundle's assets are copied beside it as they are.
 *
 * The viewer's bundle is an IIFE because page.ts inlines it into a classic <script> (a module script
 * would need `type="module"` and changes nothing else); it is not minified, so a page's script stays
 * readable in the browser's inspector and its bytes in the page's cost table are the code's own. A new
 * browser page is one more line in BUNDLES.
 *
 *   node dist/scripts/build_client.js
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Format, type Plugin } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface BrowserBundle {
  /** The TypeScript entry, relative to the checkout. */
  entry: string;
  /** The bundle, relative to the checkout (under dist/, beside the Node code that reads it). */
  outfile: string;
  /** `iife` for a script inlined into a page; `esm` for one loaded with <script type="module">. */
  format: Format;
  /** The project that type-checks it; default: tsconfig.json beside the entry. */
  tsconfig?: string;
  /** Files copied into the bundle's folder unchanged (the style sheet page.ts inlines). */
  assets?: string[];
  /** Folders of src/ whose .ts files are copied under the bundle's `source/` (the explorer shows its code). */
  sources?: string[];
}

/**
 * The seams between Node and the page: modules whose Node version reads files, each with a `.browser.ts`
 * twin exporting the same names (a page has no file system: it passes fetched bytes and text instead).
 * The explorer's bundle takes the twins; every other import of Node (`node:fs`, …) fails the build, as
 * esbuild refuses Node's modules on the browser platform.
 */
const BROWSER_SEAMS = ['src/weights/file-source.ts', 'src/tokenizer/files.ts', 'src/image/preprocess.ts'];

/** esbuild plugin: an import that resolves to a seam's Node module gets its browser twin. */
const seams: Plugin = {
  name: 'browser-seams',
  setup(b) {
    const nodeSides = new Set(BROWSER_SEAMS.map((f) => path.join(ROOT, f)));
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const target = path.resolve(args.resolveDir, args.path.replace(/\.js$/, '.ts'));
      return nodeSides.has(target) ? { path: target.replace(/\.ts$/, '.browser.ts') } : undefined;
    });
  },
};

const BUNDLES: BrowserBundle[] = [
  { entry: 'src/view/client/main.ts', outfile: 'dist/src/view/viewer.js', format: 'iife', assets: ['src/view/client/style.css'] },
  // The explorer (`biomedclip serve`): the model itself in the page, with the viewer's views.
  {
    entry: 'src/studio/client/main.ts',
    outfile: 'dist/src/studio/page/explorer.js',
    format: 'esm',
    assets: ['src/studio/client/index.html', 'src/studio/client/explorer.css', 'src/view/client/style.css'],
    sources: ['model', 'image', 'tokenizer'],
  },
];

const tsconfigOf = (b: BrowserBundle) => b.tsconfig ?? path.join(path.dirname(b.entry), 'tsconfig.json');

/** tsc on each distinct project, its errors printed as tsc prints them; throws on the first that fails. */
function typeCheck(projects: string[]): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  for (const project of projects) {
    try {
      execFileSync(process.execPath, [tsc, '-p', project], { cwd: ROOT, stdio: 'inherit' });
    } catch {
      throw new Error(`type errors in ${project} (above)`);
    }
  }
}

async function bundle(b: BrowserBundle): Promise<void> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [b.entry],
    outfile: b.outfile,
    tsconfig: tsconfigOf(b),
    bundle: true,
    format: b.format,
    platform: 'browser',
    target: 'es2022',
    charset: 'utf8', // '×', '…', '↑' as themselves, not \u escapes: the page is UTF-8
    plugins: [seams],
    logLevel: 'warning',
  });
  // A warning is a likely bug (a duplicate key, an import that resolves to nothing): the build stops.
  if (result.warnings.length > 0) throw new Error(`${b.entry}: ${result.warnings.length} esbuild warning(s) (above)`);
  for (const dir of b.sources ?? []) {
    const to = path.join(ROOT, path.dirname(b.outfile), 'source', dir);
    mkdirSync(to, { recursive: true });
    for (const f of readdirSync(path.join(ROOT, 'src', dir)).filter((n) => n.endsWith('.ts'))) copyFileSync(path.join(ROOT, 'src', dir, f), path.join(to, f));
  }
  for (const asset of b.assets ?? []) {
    mkdirSync(path.join(ROOT, path.dirname(b.outfile)), { recursive: true });
    copyFileSync(path.join(ROOT, asset), path.join(ROOT, path.dirname(b.outfile), path.basename(asset)));
  }
}

try {
  typeCheck([...new Set(BUNDLES.map(tsconfigOf))]);
  for (const b of BUNDLES) await bundle(b);
} catch (err) {
  console.error(`build_client: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
