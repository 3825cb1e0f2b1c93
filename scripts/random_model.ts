/**
 * The full-size random-weight model the benches measure: made by the PyTorch reference
 * (scripts/reference/make_reference.py, seed 0), in BiomedCLIP's shapes, so speed and memory are those of
 * the real model (neither depends on the weights' values) without a download. Needs Debian's python3-torch.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLED_VOCAB } from '../src/demo/demo-model.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = process.env.BIOMEDCLIP_PYTHON ?? '/usr/bin/python3';

/**
 * Writes the model directory `outDir` (model.safetensors and open_clip_config.json; with `vocab`, the
 * bundled BiomedBERT vocab.txt too, for benches that tokenize text). The reference's progress goes to stderr.
 */
export function makeRandomFullModel(outDir: string, opts: { vocab?: boolean } = {}): void {
  const args = [path.join(ROOT, 'scripts/reference/make_reference.py'), '--size', 'full', '--seed', '0', '--out', outDir];
  if (opts.vocab) args.push('--vocab', BUNDLED_VOCAB);
  execFileSync(PYTHON, args, { stdio: ['ignore', 'ignore', 'inherit'] });
}
