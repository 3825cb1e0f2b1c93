/**
 * The model directory a page will fetch (`serve`, `studio`): resolved like every command's `--model`, but
 * never downloaded on the fly (a page's first visit should not wait on a 784 MB download the terminal
 * does not show), and checked for the files the page reads.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { DEMO_WARNING, ensureDemoModel } from '../demo/demo-model.js';
import { resolveModelDir } from '../hub/model-dir.js';
import { VOCAB_FILE, WEIGHTS_FILE } from '../model-files.js';
import { weightsSha256 } from '../weights/fingerprint.js';

export async function pageModelDir(model: string | undefined): Promise<string> {
  let dir: string;
  if (model === 'demo') {
    dir = await ensureDemoModel();
    console.error(`biomedclip: warning: ${DEMO_WARNING}`);
  } else {
    try {
      dir = resolveModelDir(model);
    } catch (err) {
      if (model !== undefined) throw err;
      throw new UserError('no model found: run `biomedclip download` first, or pass --model DIR (or --demo for the random-weight demo)');
    }
  }
  for (const file of [WEIGHTS_FILE, VOCAB_FILE]) {
    if (!existsSync(path.join(dir, file))) {
      throw new UserError(`${dir} has no ${file}, which the page fetches; rebuild it with \`biomedclip convert CHECKPOINT --out ${dir} --vocab vocab.txt\``);
    }
  }
  // The page caches the weights under their sha256: make sure fingerprint.json is current (hashed once).
  await weightsSha256(dir).catch(() => undefined); // a read-only directory: the page then just never caches
  return dir;
}
