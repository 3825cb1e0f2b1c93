/**
 * `biomedclip studio --out DIR`: the explorer as static files, for any web server: the same page `serve`
 * serves, laid out as `serve` answers (index.html, assets/, tfjs/, examples/, and model/ when a model is
 * given). Written atomically: on any error DIR is left as it was.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Command } from '../command.js';
import { parse } from '../args.js';
import { pageModelDir } from '../page-model.js';
import { UserError } from '../../errors.js';
import { MODEL_DIR_FILES } from '../../model-files.js';
import { exampleImages, studioFiles } from '../../studio/files.js';
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
                                model directory there (or open the page with ?model=URL/ of one)
A static host usually cannot send the two headers that let wasm use threads (Cross-Origin-Opener-Policy
and Cross-Origin-Embedder-Policy): the page then runs wasm on one thread, or WebGPU.

Options:
  --out DIR     the folder to write (replaced atomically; other files in it are kept)
  --model DIR   copy this model directory into DIR/model/ ('demo' for the random-weight demo)
  --demo        same as --model demo
  -h, --help    show this help

Examples:
  biomedclip studio --demo --out site
  biomedclip studio --model ./biomedclip --out /var/www/biomedclip`,

  async run(args) {
    const { values } = parse('studio', args, { options: { out: { type: 'string' }, model: { type: 'string' }, demo: { type: 'boolean', default: false } } });
    if (!values.out) throw new UserError('--out DIR is required: the folder to write the explorer to', 2);
    const model = values.demo ? 'demo' : values.model;
    const modelDir = model === undefined ? undefined : await pageModelDir(model);
    const files = studioFiles();
    const out = path.resolve(values.out);
    await fs.mkdir(path.dirname(out), { recursive: true });
    await replaceDirectory(
      out,
      async (dir) => {
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
      },
      { owned: OWNED },
    );
    console.log(`biomedclip studio: wrote ${out}${modelDir ? '' : ' (no model: put a model directory at model/)'}`);
    return 0;
  },
};

function existsIn(dir: string, name: string): boolean {
  return existsSync(path.join(dir, name));
}

async function copyAll(from: string, names: string[], to: string): Promise<void> {
  await fs.mkdir(to, { recursive: true });
  for (const name of names) await fs.copyFile(path.join(from, name), path.join(to, name));
}
