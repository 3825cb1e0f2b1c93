/**
 * Options and helpers every model-running command shares: --model, --backend, --json, --pad-to, and
 * opening the model with notes on stderr (stdout stays clean for --json).
 */
import type { ParseArgsConfig } from 'node:util';
import { BiomedCLIP } from '../api/biomedclip.js';
import { UserError, oneLine } from '../errors.js';
import { downloadModel } from '../hub/download-model.js';
import { resolveModelDir } from '../hub/model-dir.js';
import { DEMO_LABEL, DEMO_WARNING } from '../demo/demo-model.js';
import { BACKENDS } from '../backends/select.js';
import { PILLOW_MAX_IMAGE_PIXELS } from '../image/index.js';
import { intOption, maxPixelsOption, oneOf } from './args.js';
import { csvRow, jsonText } from '../util/format.js';

export { csvRow, jsonText };

/**
 * Bound of --workers and --threads: each worker holds its own copy of the model (~1.6 GB at full size), and
 * wasm's threads beyond the cores only wait; more than this is a typo.
 */
const MAX_PARALLEL = 64;

export const MODEL_OPTIONS = {
  model: { type: 'string' },
  demo: { type: 'boolean', default: false },
  backend: { type: 'string' },
  workers: { type: 'string' },
  threads: { type: 'string' },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
  'max-pixels': { type: 'string' },
  decoder: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const MODEL_HELP = `Model options:
  --model DIR        model directory (model.safetensors, open_clip_config.json, vocab.txt);
                     default: the model \`biomedclip download\` converted (downloaded on
                     first use when online); 'demo' is a small
                     random-weight model that works offline (its scores are meaningless;
                     its outputs say so: a JSON "model" field, a CSV "model" column,
                     a table's first line)
  --demo             same as --model demo
  --backend NAME     tensorflow | webgpu | wasm | cpu (default: the fastest available;
                     webgpu only on a real GPU unless named)
  --workers N        worker threads for bulk work, each with its own copy of the model
                     (default: one per core on wasm and cpu, as many as the free memory
                     holds, ~1.6 GB each at full size; 1 on tensorflow and webgpu)
  --threads N        wasm threads per model (default: every core for single images and
                     texts, cores / workers in each worker)
  --json             machine-readable JSON on stdout
  --quiet            no notes on stderr
  --max-pixels N     for commands that read images: refuse those with more pixels (default
                     ${PILLOW_MAX_IMAGE_PIXELS.toLocaleString('en-US')}, Pillow's decompression-bomb limit; at most 2^30)
  --decoder NAME     for commands that read images: the PNG/JPEG decoder, auto (default: sharp,
                     else pure JS), sharp, or js (the pure-JS decoders the explorer's page uses:
                     exact for PNG, within docs/image.md's measured gap for JPEG)`;

export { intOption, MAX_TOP, maxPixelsOption, oneFormat, outputFile, padToOption, parse } from './args.js';

export async function openModel(values: {
  model?: string;
  backend?: string;
  workers?: string;
  threads?: string;
  quiet?: boolean;
  allowNonfinite?: boolean;
  'max-pixels'?: string;
  decoder?: string;
}): Promise<BiomedCLIP> {
  const workers = intOption('workers', values.workers, 1, MAX_PARALLEL, 'one model copy per worker');
  const threads = intOption('threads', values.threads, 1, MAX_PARALLEL, "wasm's thread pool");
  // Every image the model reads gets it: so each command that reads images has the flag its errors name.
  const maxPixels = maxPixelsOption(values['max-pixels']);
  const decoder = oneOf('decoder', values.decoder, ['auto', 'sharp', 'js'] as const);
  // Checked before the model is found or downloaded: a typo must not cost a 784 MB download first.
  if (values.backend !== undefined && !(BACKENDS as string[]).includes(values.backend)) {
    throw new UserError(`--backend ${values.backend}: unknown backend; valid backends: ${BACKENDS.join(', ')}`, 2);
  }
  // 'demo' is resolved by BiomedCLIP.load, as for library users.
  const dir = values.model === 'demo' ? 'demo' : await modelDirOrDownload(values.model, values.quiet);
  const note = values.quiet ? undefined : (m: string) => console.error(`biomedclip: note: ${m}`);
  const clip = await BiomedCLIP.load(dir, {
    backend: values.backend,
    workers,
    threads,
    onNote: note,
    allowNonfinite: values.allowNonfinite,
    maxPixels,
    decoder,
  });
  // Never quiet: results of random weights must not be mistaken for BiomedCLIP's.
  if (clip.isDemo) console.error(`biomedclip: warning: ${DEMO_WARNING}`);
  return clip;
}

/** Commands that take MODEL_OPTIONS but read no image file (summary, parity) refuse --max-pixels and --decoder rather than ignore them. */
export function readsNoImages(command: string, values: { 'max-pixels'?: string; decoder?: string }): void {
  for (const flag of ['max-pixels', 'decoder'] as const) {
    if (values[flag] !== undefined) throw new UserError(`--${flag}: \`biomedclip ${command}\` reads no image files; drop it`, 2);
  }
}

/**
 * `--model DIR`, else the converted model in the cache, else (first use) download and convert the official
 * weights. Offline, the error names both ways forward: `biomedclip download` later, or `--model demo` now.
 */
async function modelDirOrDownload(model: string | undefined, quiet?: boolean): Promise<string> {
  if (model !== undefined) return resolveModelDir(model);
  try {
    return resolveModelDir();
  } catch {
    // no converted model yet: fall through to the first-use download
  }
  console.error('biomedclip: note: first use: downloading and converting the official BiomedCLIP weights (784 MB, once)');
  try {
    const result = await downloadModel({ progress: true, onNote: quiet ? undefined : (m) => console.error(`biomedclip: note: ${m}`) });
    return result.modelDir;
  } catch (err) {
    throw new UserError(
      `no model found and the download failed (${oneLine(err)}); run \`biomedclip download\` when online, or use --model demo (random weights) to try the commands`,
    );
  }
}

export function printJson(value: unknown): void {
  console.log(jsonText(value));
}

/**
 * Results of the demo model's random weights must never pass for BiomedCLIP's, even once stdout is saved to
 * a file: every format says so. JSON gets a "model" field, CSV a trailing "model" column on every row,
 * tables a first line. Real models add nothing, so their formats stay as documented.
 */
export interface ModelLabel {
  /** `{ model: DEMO_LABEL }` for the demo, `{}` otherwise: spread into a JSON result. */
  json: { model?: string };
  /** A CSV line, with the demo's "model" column appended when it applies. */
  csv(fields: Array<string | number>, header?: boolean): string;
  /** Prints the table's first line for the demo; nothing otherwise. */
  tableHeader(): void;
}

export function modelLabel(clip: Pick<BiomedCLIP, 'isDemo'>): ModelLabel {
  const demo = clip.isDemo;
  return {
    json: demo ? { model: DEMO_LABEL } : {},
    csv: (fields, header = false) => csvRow(demo ? [...fields, header ? 'model' : DEMO_LABEL] : fields),
    tableHeader: () => {
      if (demo) console.log(`model: ${DEMO_LABEL}`);
    },
  };
}
