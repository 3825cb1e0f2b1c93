/**
 * `biomedclip eval grounding`: the flags, the progress bar and Ctrl-C's words, the exit code. The run is
 * src/eval/grounding/run.ts's; eval.ts dispatches here and carries the help text.
 */
import { promises as fs } from 'node:fs';
import { intOption, MODEL_OPTIONS, openModel, parse, printJson } from '../common.js';
import { numberFlag } from '../pair.js';
import { UserError } from '../../errors.js';
import { METHODS, type Method } from '../../inspect/explain.js';
import { loadGroundingData, type SkippedRow } from '../../eval/grounding/data.js';
import { groundingReportFiles } from '../../eval/grounding/files.js';
import { groundingText } from '../../eval/grounding/format.js';
import { DEFAULT_GROUNDING } from '../../eval/grounding/measures.js';
import { evalGrounding } from '../../eval/grounding/run.js';
import { checkOutDir, writeReportDir } from '../../eval/report.js';
import { cacheBase } from '../../eval/store.js';
import { sayOnInterrupt } from '../../util/interrupt.js';
import { progressBar, type Progress } from '../../util/progress.js';
import { folderProblem } from '../../util/writable.js';
import { EXIT_SKIPPED } from './index.js';

export const GROUNDING_HELP = `eval grounding: does each explanation method's map fall on the region a text names? DATA.csv has
image,text,x0,y0,x1,y1 columns (a box in the original image's pixels, inclusive-exclusive; several lines
with the same image and text are one row, the union of their boxes) or image,text,mask (a mask image of
the original's size, nonzero inside), and optionally group (the breakdown's groups; default: the text).
Each map is exactly \`explain --json\`'s image_map for that image, text and method (its defaults),
upsampled to the crop; the region goes through the image's resize and centre crop. Reports per method
the pointing game, CNR, AUROC, IoU and Dice with 95% intervals, and two baselines that need no model
(uniform, center-gaussian). Definitions: docs/eval.md, "Grounding".

  --method LIST           explanation methods, comma-separated (default: all of
                          ${METHODS.join(',')})
  --tolerance PX          pointing game: a hit within this many crop pixels of the region (default ${DEFAULT_GROUNDING.tolerance})
  --threshold T           IoU and Dice: the map thresholded at T of its min-max range (default ${DEFAULT_GROUNDING.threshold})
  --out DIR               write metrics.json, rows.csv, maps.npy, report.md and figure-<method>.png there
                          (same rules as classify's)
  --cache DIR             map cache (default: per model under $XDG_CACHE_HOME or ~/.cache, in
                          biomedclip-ts/eval/grounding/)
  --bootstrap N, --seed S the intervals, as below (over rows; every method on the same resamples)

Maps are cached as they are computed (by image content, text, method, model and backend): a killed run resumes
(Ctrl-C says how many are kept), and a rerun with other --tolerance or --threshold runs no model.
Pairs are explained on the worker pool (--workers N, as for embedding; each worker one pair at a time
on its own model copy) while this thread reads the next images; --workers 1 keeps it in this thread.
Rows that cannot be scored (missing image, empty field, box of zero area, mask of the wrong size, region
outside the crop) are one stderr line each, listed in "skipped" and left out (exit 3).`;

const OPTIONS = {
  ...MODEL_OPTIONS,
  method: { type: 'string' },
  tolerance: { type: 'string' },
  threshold: { type: 'string' },
  bootstrap: { type: 'string', default: '1000' },
  seed: { type: 'string', default: '0' },
  out: { type: 'string' },
  cache: { type: 'string' },
} as const;

export async function runGrounding(args: string[]): Promise<number> {
  const { values, positionals } = parse('eval', args, { allowPositionals: true, options: OPTIONS });
  if (positionals.length !== 1)
    throw new UserError('expected one DATA.csv with image,text,x0,y0,x1,y1 or image,text,mask columns; see `biomedclip eval --help`', 2);
  const methods = methodList(values.method);
  const measure = {
    tolerance: numberFlag('tolerance', values.tolerance, 0, Infinity) ?? DEFAULT_GROUNDING.tolerance,
    threshold: numberFlag('threshold', values.threshold, 0, 1) ?? DEFAULT_GROUNDING.threshold,
  };
  const resamples = intOption('bootstrap', values.bootstrap, 0, 100_000, 'resamples; 0: no intervals') as number;
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new UserError(`--seed ${values.seed}: expected a non-negative integer`, 2);
  if (values.out !== undefined) await checkOutDir(values.out, 'grounding');
  await checkCache(values.cache);
  const data = await loadGroundingData(positionals[0]);
  const clip = await openModel(values);
  const progress = mapProgress(values.quiet, data.source);
  try {
    const run = await sayOnInterrupt(progress.say, () =>
      evalGrounding(clip, {
        data,
        methods,
        measure,
        resamples,
        seed,
        cacheDir: values.cache,
        onStart: progress.onStart,
        onProgress: progress.onProgress,
        onSkip: progress.onSkip,
      }),
    );
    progress.finish();
    if (values.out) await writeReportDir(values.out, 'grounding', groundingReportFiles(run));
    if (values.json) printJson(run.report);
    else console.log(groundingText(run.report));
    const { cache, skipped } = run.report;
    if (!values.quiet)
      console.error(`biomedclip: note: map cache ${cache.dir}: ${cache.maps_computed} maps computed now, ${cache.maps_cached} from earlier runs`);
    if (skipped.length > 0)
      console.error(`biomedclip: ${skipped.length} rows could not be scored and were left out of the metrics (listed above and in "skipped")`);
    return skipped.length > 0 ? EXIT_SKIPPED : 0;
  } finally {
    progress.finish();
    clip.dispose();
  }
}

/** --method: known names, comma-separated, each once, in the order given. */
function methodList(value: string | undefined): Method[] {
  if (value === undefined) return [...METHODS];
  const names = value.split(',').map((m) => m.trim());
  const unknown = names.find((m) => !(METHODS as readonly string[]).includes(m));
  if (unknown !== undefined) throw new UserError(`--method ${value}: '${unknown}' is not a method; use some of ${METHODS.join(',')}`, 2);
  return [...new Set(names as Method[])];
}

/** --cache (or the default cache's folder) must be a folder we can create and write: said before the model loads. */
async function checkCache(cache: string | undefined): Promise<void> {
  const dir = cache ?? cacheBase();
  const stat = await fs.stat(dir).catch(() => undefined);
  if (stat !== undefined && !stat.isDirectory()) throw new UserError(`--cache ${dir}: is a file; pass a folder for the map cache (created if new)`, 2);
  const problem = await folderProblem(dir);
  if (problem !== undefined) {
    throw new UserError(
      cache === undefined
        ? `cannot create the evaluation cache ${dir} (${problem}); pass --cache DIR in a folder you can write to (or set XDG_CACHE_HOME)`
        : `--cache ${cache}: cannot create it (${problem}); pass --cache DIR in a folder you can write to`,
      2,
    );
  }
}

/** The bar over the maps to compute, one stderr line per skipped row, and what Ctrl-C says. */
function mapProgress(quiet: boolean | undefined, csv: string) {
  let bar: Progress | undefined;
  let phase: { total: number; cacheDir: string; committed: () => number } | undefined;
  return {
    onStart: (p: NonNullable<typeof phase>) => {
      phase = p;
      bar = quiet || p.total === 0 ? undefined : progressBar('eval: explaining', p.total, 'maps');
      bar?.update(0);
    },
    onProgress: (done: number) => bar?.update(done),
    onSkip: (s: SkippedRow) => {
      bar?.done();
      console.error(`biomedclip: skipped ${csv}:${s.lines[0]} (${s.image}, ${JSON.stringify(s.text)}): ${s.error}`);
    },
    finish: () => bar?.done(),
    say: () =>
      phase === undefined ? '' : `${phase.committed()}/${phase.total} maps of this run are in the cache ${phase.cacheDir}; run the same command to resume`,
  };
}
