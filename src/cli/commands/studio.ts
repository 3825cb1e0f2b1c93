/**
 * `biomedclip studio --out DIR`: the explorer as static files, for any web server: the same page `serve`
 * serves, laid out as `serve` answers (index.html, assets/, tfjs/, examples/, and model/ when a model is
 * given). Written atomically: on any error DIR is left as it was.
 */
import { existsSync, promises as fs, readFileSync, realpathSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from '../command.js';
import { parse } from '../args.js';
import { pageModelDir } from '../page-model.js';
import { UserError } from '../../errors.js';
import { MODEL_DIR_FILES } from '../../model-files.js';
import { exampleImages, studioFiles, type StudioFiles } from '../../studio/files.js';
import { replaceDirectory } from '../../util/atomic-dir.js';

const OWNED = ['index.html', 'assets', 'tfjs', 'examples', 'source', 'model'];

export const command: Command = {
  usage: `Usage: biomedclip studio --out DIR [--model DIR | --demo]

Writes the explorer (see \`biomedclip serve --help\`) as static files that any web server can host:
  DIR/index.html, DIR/assets/   the page
  DIR/tfjs/                     tfjs-backend-wasm's binaries
  DIR/examples/                 the example images and their list (index.json)
  DIR/source/                   the model's source files the forward-pass walk shows
  DIR/model/                    the model directory's files, with --model or --demo; otherwise put a
                                model directory there (a run without --model keeps it), or open the
                                page with ?model=URL/ of one
A static host usually cannot send the two headers that let wasm use threads (Cross-Origin-Opener-Policy
and Cross-Origin-Embedder-Policy): the page then runs wasm on one thread, or WebGPU.

Options:
  --out DIR     the folder to write: new, empty, or an earlier --out (replaced atomically; files in
                it that studio does not write are kept)
  --model DIR   copy this model directory into DIR/model/ ('demo' for the random-weight demo)
  --demo        same as --model demo
  -h, --help    show this help

Examples:
  biomedclip studio --demo --out site
  biomedclip studio --model ./biomedclip --out /var/www/biomedclip`,

  async run(args) {
    const { values } = parse('studio', args, { options: { out: { type: 'string' }, model: { type: 'string' }, demo: { type: 'boolean', default: false } } });
    if (!values.out) throw new UserError('--out DIR is required: the folder to write the explorer to', 2);
    const out = path.resolve(values.out);
    const modelGiven = values.model !== undefined; // parse() turned --demo into --model demo
    checkOut(values.out, out, modelGiven);
    const modelDir = modelGiven ? await pageModelDir(values.model) : undefined;
    const files = studioFiles();
    await fs.mkdir(path.dirname(out), { recursive: true });
    // Without --model, model/ is the user's (the line below invites them to put one there): kept as it is.
    const owned = modelGiven ? OWNED : OWNED.filter((name) => name !== 'model');
    await replaceDirectory(out, (dir) => writeSite(dir, files, modelDir), { owned });
    const note = modelDir ? '' : existsIn(out, 'model') ? ' (model/ kept as it was)' : ' (no model: put a model directory at model/)';
    console.log(`biomedclip studio: wrote ${out}${note}`);
    return 0;
  },
};

/** The layout `serve` answers, written into `dir` (the staging folder replaceDirectory swaps in). */
async function writeSite(dir: string, files: StudioFiles, modelDir: string | undefined): Promise<void> {
  await fs.copyFile(path.join(files.page, 'index.html'), path.join(dir, 'index.html'));
  await copyAll(
    files.page,
    files.pageFiles.filter((f) => f !== 'index.html'),
    path.join(dir, 'assets'),
  );
  await copyAll(files.wasmDir, files.wasm, path.join(dir, 'tfjs'));
  const examples = await exampleImages(files);
  await copyAll(files.examples, examples, path.join(dir, 'examples'));
  await fs.writeFile(path.join(dir, 'examples', 'index.json'), JSON.stringify(examples));
  await fs.cp(files.source, path.join(dir, 'source'), { recursive: true });
  if (modelDir)
    await copyAll(
      modelDir,
      MODEL_DIR_FILES.filter((f) => existsIn(modelDir, f)),
      path.join(dir, 'model'),
    );
}

/**
 * Refuses an --out that replacing would harm, before any work: a file (the swap would delete it), the
 * folder the user is in (their shell would be left in a deleted folder), or a folder whose index.html,
 * assets/, ... are not an explorer's (a web root's own page would be replaced by ours).
 */
function checkOut(flag: string, out: string, modelGiven: boolean): void {
  let stat;
  try {
    stat = statSync(out, { throwIfNoEntry: false });
  } catch {
    throw new UserError(`--out ${flag}: part of the path is a file; pass a folder for the explorer`, 2);
  }
  if (stat === undefined) return;
  if (!stat.isDirectory()) throw new UserError(`--out ${flag}: is a file; pass a folder for the explorer (new, empty, or an earlier --out of studio)`, 2);
  const inside = path.relative(realpathSync(out), process.cwd());
  if (inside !== '..' && !inside.startsWith(`..${path.sep}`) && !path.isAbsolute(inside))
    throw new UserError(`--out ${flag}: holds the folder you are in, and studio replaces its --out as a whole; run it from outside, e.g. cd .. first`, 2);
  const clash = OWNED.filter((name) => existsIn(out, name) && (modelGiven || name !== 'model'));
  if (clash.length > 0 && !isExplorer(path.join(out, 'index.html')))
    throw new UserError(
      `--out ${flag}: holds ${clash.join(', ')} of another site (no explorer studio wrote), which studio would replace; pass a new or empty folder`,
      2,
    );
}

/** An index.html that `studio` wrote: the explorer's page, by its title. */
function isExplorer(file: string): boolean {
  try {
    return readFileSync(file, 'utf8').includes('<title>BiomedCLIP explorer</title>');
  } catch {
    return false;
  }
}

function existsIn(dir: string, name: string): boolean {
  return existsSync(path.join(dir, name));
}

async function copyAll(from: string, names: string[], to: string): Promise<void> {
  await fs.mkdir(to, { recursive: true });
  for (const name of names) await fs.copyFile(path.join(from, name), path.join(to, name));
}
