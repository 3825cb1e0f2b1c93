import { promises as fs } from 'node:fs';
import { MAX_BATCH, type BiomedCLIP } from '../../api/biomedclip.js';
import type { Command } from '../command.js';
import { intOption, MODEL_HELP, MODEL_OPTIONS, openModel, parse, printJson } from '../common.js';
import { TEMPLATE_SETS } from '../../api/templates.js';
import { UserError } from '../../errors.js';
import { evalClassify } from '../../eval/classify.js';
import { loadCaptionData, loadClassificationData } from '../../eval/dataset.js';
import { classifyText, retrievalText } from '../../eval/format.js';
import { templatesOption } from '../../eval/prompts.js';
import { checkOutDir, classifyReportFiles, retrievalReportFiles, writeReportDir, type ReportKind } from '../../eval/report.js';
import { evalRetrieval } from '../../eval/retrieval.js';
import { cacheBase, type StoreProgress } from '../../eval/store.js';
import { folderProblem } from '../../util/writable.js';
import { sayOnInterrupt } from '../../util/interrupt.js';
import { progressBar, type Progress } from '../../util/progress.js';
import { EXIT_SKIPPED } from './index.js';
import { GROUNDING_HELP, runGrounding } from './eval-grounding.js';

const COMMON_HELP = `  --bootstrap N      resamples for the 95% confidence intervals (default 1000; 0: none; at most 100,000)
  --seed S           seed of the resamples (default 0): same seed, same intervals
  --cache DIR        embedding cache: DIR/images is a \`biomedclip index\` folder (search works on it),
                     DIR/texts the same for texts (default: per data folder and model under
                     $XDG_CACHE_HOME or ~/.cache, in biomedclip-ts/eval/)
  --batch-size N     images per forward pass and per cache commit (default 16, at most 256)
${MODEL_HELP}

Embeddings are committed to the cache batch by batch: a killed run resumes where it stopped (Ctrl-C
says how much is committed), a rerun with other prompts or templates embeds only the new texts, and
images changed since they were cached are embedded again (those removed are dropped). Files that
cannot be decoded are reported on stderr, listed in the results ("skipped") and left out of the metrics.
The --out folder and the cache are never read as data, even inside DATA.

Exit codes: 0 done; 3 done, but some files were skipped (listed); 1 other errors; 2 bad arguments.`;

export const command: Command = {
  usage: `Usage: biomedclip eval classify DATA (--labels-file L.json | --classes-from-folders) [options]
       biomedclip eval retrieval DATA.csv [options]
       biomedclip eval grounding DATA.csv [--method LIST] [options]

eval classify: zero-shot classification of labelled images, open_clip's way (classify --help). DATA is
a folder with one subfolder of images per class (torchvision's ImageFolder layout) or a CSV with
image,label columns (image paths relative to the CSV). Reports accuracy, top-k accuracy, balanced
accuracy, macro-F1, per-class precision/recall/F1/support, one-vs-rest AUROC (per class and macro),
the confusion matrix, calibration (ECE) and 95% bootstrap intervals.

  --labels-file L.json    class name -> description or list of descriptions, e.g.
                          {"0": "normal lymph node", "1": "lymph node metastasis"}
  --classes-from-folders  the folder names are the descriptions (underscores read as spaces)
  --templates NAME|FILE   a template set (default openclip-default):
                          ${Object.keys(TEMPLATE_SETS).join(', ')}
                          (pcam ... rsna: the paper's per-dataset templates, docs/eval.md),
                          a file with one template per line, or one template with {}
  --top-k LIST            the k of the top-k accuracies (default 1,5; k >= the class count is left out)
  --out DIR               write metrics.json, predictions.csv, confusion.svg, calibration.svg and
                          report.md there (a new or empty folder, or an earlier classification report,
                          which is replaced; a folder holding anything else is refused)

eval retrieval: DATA.csv has image,caption columns. Every image is ranked against every caption of the
set by cosine similarity, and every caption against every image; reports Recall@K and the median rank
of the correct match both ways. An image on several rows is one candidate with several correct captions.

  --recall-at LIST        the K of Recall@K (default 1,5,10, as the paper; a K above the number of
                          candidates is an error, and defaults above it are left out)
  --out DIR               write metrics.json, ranks.csv and report.md there (same rules as classify's)

${GROUNDING_HELP}

Options of all three (grounding takes the model options, --bootstrap and --seed, and its own --cache):
${COMMON_HELP}

Output (--json): the object metrics.json holds. classify: {"task","n","accuracy","top_k_accuracy",
  "balanced_accuracy","macro_f1","auroc_macro","ece","per_class":{class:{"precision","recall","f1",
  "support","auroc"}},"confusion_matrix","calibration","ci95","bootstrap","model","templates","prompts",
  "preprocessing","data","skipped","cache"}; retrieval: {"task","n","images","captions",
  "image_to_text":{"recall@1",...,"median_rank","queries"},"text_to_image":{...},"ci95",...};
  grounding: {"task","n","pointing_chance","methods","baselines","metrics":{method:{"n",
  "pointing_accuracy","mean_cnr","mean_auroc","mean_iou","mean_dice","defined","ci95"}},"group_by",
  "groups","options","bootstrap","model","preprocessing","data","skipped","cache"}

Examples:
  biomedclip eval classify ./pcam_test --labels-file pcam.json --templates pcam --out pcam.report
  biomedclip eval classify ./my_dataset --classes-from-folders --json --bootstrap 2000 --seed 1
  biomedclip eval classify split.csv --labels-file labels.json --templates my-templates.txt
  biomedclip eval retrieval pmc_test.csv --out retrieval.report
  biomedclip eval grounding ms_cxr.csv --method relevance,gradcam,legrad --out ms-cxr.grounding`,

  async run(args) {
    const [task, ...rest] = args;
    if (task === 'classify') return runClassify(rest);
    if (task === 'retrieval') return runRetrieval(rest);
    if (task === 'grounding') return runGrounding(rest);
    throw new UserError(
      `${task === undefined ? 'missing task' : `unknown task '${task}'`}; use \`biomedclip eval classify DATA ...\`, \`biomedclip eval retrieval DATA.csv\` or \`biomedclip eval grounding DATA.csv\``,
      2,
    );
  },
};

const SHARED_OPTIONS = {
  ...MODEL_OPTIONS,
  bootstrap: { type: 'string', default: '1000' },
  seed: { type: 'string', default: '0' },
  out: { type: 'string' },
  cache: { type: 'string' },
  'batch-size': { type: 'string' },
} as const;

async function runClassify(args: string[]): Promise<number> {
  const { values, positionals } = parse('eval', args, {
    allowPositionals: true,
    options: {
      ...SHARED_OPTIONS,
      'labels-file': { type: 'string' },
      'classes-from-folders': { type: 'boolean', default: false },
      templates: { type: 'string' },
      'top-k': { type: 'string', default: '1,5' },
    },
  });
  if (positionals.length !== 1) throw new UserError('expected one DATA (an image folder or a CSV); see `biomedclip eval --help`', 2);
  const shared = await sharedOptions(values, 'classification');
  const topK = intList('--top-k', values['top-k']);
  const templates = templatesOption(values.templates);
  // Our own outputs are never data: a report or cache inside the data folder would become a class (or images) on the next run.
  const exclude = [values.out, values.cache, cacheBase()].filter((p): p is string => p !== undefined);
  const data = await loadClassificationData(positionals[0], { labelsFile: values['labels-file'], classesFromFolders: values['classes-from-folders'], exclude });
  if (!values.quiet) for (const note of data.notes) console.error(`biomedclip: note: ${note}`);
  return execute(
    values,
    'classification',
    (clip, progress) => evalClassify(clip, { data, templates, topK, cacheDir: values.cache, ...shared, ...progress }),
    classifyReportFiles,
    classifyText,
  );
}

async function runRetrieval(args: string[]): Promise<number> {
  const { values, positionals } = parse('eval', args, {
    allowPositionals: true,
    options: { ...SHARED_OPTIONS, 'recall-at': { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UserError('expected one DATA.csv with image,caption columns; see `biomedclip eval --help`', 2);
  const shared = await sharedOptions(values, 'retrieval');
  const asked = values['recall-at'];
  const ks = intList('--recall-at', asked ?? DEFAULT_RECALL_AT);
  const data = await loadCaptionData(positionals[0]);
  const bounded = boundRecallAt(ks, data.pairs, asked !== undefined);
  if (!values.quiet && bounded.length < ks.length)
    console.error(
      `biomedclip: note: Recall@${ks.filter((k) => !bounded.includes(k)).join(',')} left out: the set has fewer candidates (every match would rank within them)`,
    );
  return execute(
    values,
    'retrieval',
    (clip, progress) => evalRetrieval(clip, { data, ks: bounded, cacheDir: values.cache, ...shared, ...progress }),
    retrievalReportFiles,
    retrievalText,
  );
}

const DEFAULT_RECALL_AT = '1,5,10';

/**
 * Recall@K for K at least the number of candidates is 1 whatever the model does: such a K asked for is an
 * error naming the count; the defaults beyond a small set's size are left out (the caller notes it).
 */
function boundRecallAt(ks: number[], pairs: Array<{ path: string; caption: string }>, asked: boolean): number[] {
  const images = new Set(pairs.map((p) => p.path)).size;
  const captions = new Set(pairs.map((p) => p.caption)).size;
  const count = Math.min(images, captions);
  const beyond = ks.filter((k) => k > count);
  if (asked && beyond.length > 0) {
    throw new UserError(
      `--recall-at ${beyond.at(-1)}: more than the ${count} candidates (${images} images, ${captions} distinct captions); pass K of at most ${count}`,
      2,
    );
  }
  return ks.filter((k) => k <= count); // never empty: every set has at least one candidate, and K >= 1
}

type Report = Parameters<typeof finish>[0];

/** Loads the model, runs the evaluation, writes --out, prints the report; returns the exit code. */
async function execute<R extends { report: Report }>(
  values: { model?: string; backend?: string; quiet?: boolean; json?: boolean; out?: string },
  kind: ReportKind,
  evaluate: (clip: BiomedCLIP, progress: StoreProgress) => Promise<R>,
  files: (run: R) => Record<string, string>,
  text: (report: R['report']) => string,
): Promise<number> {
  const clip = await openModel(values);
  const progress = storeProgress(values.quiet);
  try {
    const run = await sayOnInterrupt(progress.say, () => evaluate(clip, progress));
    progress.finish();
    if (values.out) await writeReportDir(values.out, kind, files(run));
    if (values.json) printJson(run.report);
    else console.log(text(run.report));
    return finish(run.report, values);
  } finally {
    progress.finish();
    clip.dispose();
  }
}

/** Flags both tasks share, checked (with --out and --cache) before anything is read or loaded. */
async function sharedOptions(values: { bootstrap: string; seed: string; out?: string; cache?: string; 'batch-size'?: string }, kind: ReportKind) {
  const resamples = intOption('bootstrap', values.bootstrap, 0, 100_000, 'resamples; 0: no intervals') as number;
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new UserError(`--seed ${values.seed}: expected a non-negative integer`, 2);
  const batchSize = intOption('batch-size', values['batch-size'], 1, MAX_BATCH, 'inputs per forward pass, each holding its activations');
  if (values.out !== undefined) await checkOutDir(values.out, kind);
  await checkCacheDir(values.cache);
  return { resamples, seed, batchSize };
}

/** --cache (or the default cache's folder) must be a folder we can create and write: said now, not after the model loads. */
async function checkCacheDir(cache: string | undefined): Promise<void> {
  if (cache === undefined) {
    const base = cacheBase();
    const problem = await folderProblem(base);
    if (problem !== undefined)
      throw new UserError(`cannot create the evaluation cache ${base} (${problem}); pass --cache DIR in a folder you can write to (or set XDG_CACHE_HOME)`);
    return;
  }
  const stat = await fs.stat(cache).catch(() => undefined);
  if (stat !== undefined && !stat.isDirectory()) throw new UserError(`--cache ${cache}: is a file; pass a folder for the embedding cache (created if new)`, 2);
  const problem = await folderProblem(cache);
  if (problem !== undefined) throw new UserError(`--cache ${cache}: cannot create it (${problem}); pass --cache DIR in a folder you can write to`, 2);
}

function intList(flag: string, value: string): number[] {
  const ks = value.split(',').map((v) => Number(v.trim()));
  if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1))
    throw new UserError(`${flag} ${value}: expected positive integers separated by commas, e.g. 1,5,10`, 2);
  return [...new Set(ks)].sort((a, b) => a - b);
}

/**
 * Progress bars (terminal only, one per phase: texts, then images), one stderr line per skipped file, and
 * what Ctrl-C says: how much of the phase in flight is committed to the cache, and that a rerun resumes.
 */
function storeProgress(quiet: boolean | undefined): Required<Pick<StoreProgress, 'onStart' | 'onProgress' | 'onSkip'>> & { finish(): void; say(): string } {
  let bar: Progress | undefined;
  let phase: { what: string; total: number; cacheDir: string; committed: () => number } | undefined;
  return {
    onStart: (what, p) => {
      bar?.done();
      phase = { what, ...p };
      bar = quiet || p.total === 0 ? undefined : progressBar(`eval: embedding ${what}`, p.total, what);
      bar?.update(0);
    },
    onProgress: (_what, done) => bar?.update(done),
    onSkip: (s) => {
      bar?.done();
      console.error(`biomedclip: skipped ${s.path}: ${s.error}`);
    },
    finish: () => bar?.done(),
    say: () =>
      phase === undefined
        ? ''
        : `${phase.committed()}/${phase.total} ${phase.what} of this run committed to the cache ${phase.cacheDir}; run the same command to resume`,
  };
}

/** Notes on the cache, and the exit code (3 when files were skipped, as `index`). */
function finish(
  r: { skipped: unknown[]; cache: { dir: string; images_embedded: number; images_cached: number; texts_embedded: number; texts_cached: number } },
  values: { quiet?: boolean },
): number {
  if (!values.quiet) {
    const c = r.cache;
    console.error(
      `biomedclip: note: cache ${c.dir}: ${c.images_embedded} images and ${c.texts_embedded} texts embedded now, ${c.images_cached} and ${c.texts_cached} from earlier runs`,
    );
  }
  if (r.skipped.length > 0)
    console.error(`biomedclip: ${r.skipped.length} files could not be read and were left out of the metrics (listed above and in "skipped")`);
  return r.skipped.length > 0 ? EXIT_SKIPPED : 0;
}
