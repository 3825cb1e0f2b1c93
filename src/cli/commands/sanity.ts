import * as tf from '@tensorflow/tfjs-core';
import type { Command } from '../command.js';
import { MODEL_HELP, MODEL_OPTIONS, modelLabel, openModel, parse, printJson } from '../common.js';
import {
  EXPLAIN_OPTIONS,
  EXPLAIN_OPTIONS_HELP,
  pairHelp,
  PAIR_OPTIONS,
  checkPairValues,
  choiceFlag,
  explainOptions,
  intFlag,
  parseLabels,
  textsFor,
} from '../pair.js';
import { DEFAULT_TEMPLATE, fillTemplate, type BiomedCLIP } from '../../api/biomedclip.js';
import { disposePair, pairInputs, type Pair } from '../../api/pair.js';
import { UserError } from '../../errors.js';
import { METHODS, explain, type ExplainOptions, type Method } from '../../inspect/explain.js';
import type { PairInputs } from '../../inspect/probe.js';
import { imageCascade } from '../../inspect/randomize.js';
import { progressBar, type Progress } from '../../util/progress.js';
import {
  MIN_CURVE_POINTS,
  cascadingRandomization,
  checkCurveStep,
  curveImages,
  deletionInsertion,
  maxCurveStep,
  promptSensitivity,
  shuffleWords,
  type MapOf,
} from '../../inspect/sanity.js';

const CHECKS = ['randomization', 'deletion', 'prompt'] as const;
type Check = (typeof CHECKS)[number];
const UNRELATED = 'a photograph of a red bicycle leaning against a brick wall';

export const command: Command = {
  usage: `Usage: biomedclip sanity IMAGE (--text TEXT | --labels "a,b" [--target a]) --method M [options]

Three checks that a heatmap explains the model and the prompt, not just the image (docs/explain.md):
  randomization  cascading randomisation (Adebayo et al. 2018): re-initialise the image tower top-down
                 (head + final norm, block 11, ..., patch embedding) with --seed, recompute the map after
                 each step; Spearman rank correlation with the original map (signed and absolute).
                 Should fall towards 0.
  deletion       deletion and insertion curves (Petsiuk et al. 2018, per patch): remove patches (set to
                 the mean colour) or insert them into a blurred image in descending saliency; AUC of the
                 target's score (zero-shot probability with --labels, else the logit) against a random
                 order. Deletion AUC should be below random, insertion AUC above.
  prompt         Spearman of the map for the text against the map for an unrelated text and for the
                 text's words shuffled. Attention and rollout ignore the text: theirs is exactly 1.

Options:
  --method M         one of ${METHODS.join(', ')} (required)
  --checks LIST      comma-separated of ${CHECKS.join(', ')} (default: all)
  --seed N           seed of the re-initialisation, the random order and the shuffle (default 0)
  --step K           patches removed/inserted per step (default 1: 197 forward passes per curve; at most
                     ${maxCurveStep(196)} for 196 patches, so that a curve keeps ${MIN_CURVE_POINTS} points for its AUC to mean something)
  --unrelated TEXT   the unrelated prompt (default "${UNRELATED}")

${EXPLAIN_OPTIONS_HELP}

${pairHelp(false)}

${MODEL_HELP}

Output (--json): {"method", "image", "text", "logit", "randomization": [{"step", "spearman",
"spearman_abs"}], "deletion"/"insertion": {"metric", "auc", "random_auc", "curve", "random_curve"},
"prompt": [{"kind", "text", "spearman"}]} (checks not run are absent).
Cost: randomisation = 14 explanations; deletion = 4 curves of 197 image forwards (use --step to thin);
prompt = 3 explanations.

Examples:
  biomedclip sanity assets/examples/squamous_cell_carcinoma_histopathology.jpeg \\
      --text "squamous cell carcinoma" --method relevance
  biomedclip sanity assets/examples/squamous_cell_carcinoma_histopathology.jpeg \\
      --labels "adenocarcinoma,squamous cell carcinoma" --method gradcam --checks deletion --step 4 --json`,

  async run(args) {
    const { values, positionals } = parse('sanity', args, {
      allowPositionals: true,
      options: {
        ...MODEL_OPTIONS,
        ...PAIR_OPTIONS,
        ...EXPLAIN_OPTIONS,
        checks: { type: 'string' },
        seed: { type: 'string' },
        step: { type: 'string' },
        unrelated: { type: 'string' },
      },
    });
    if (positionals.length !== 1) throw new UserError('give exactly one image; usage: biomedclip sanity IMAGE --text TEXT --method M', 2);
    checkPairValues(values);
    if ((values.text?.length ?? 0) > 1) throw new UserError('give exactly one --text (the checks explain one pair)', 2);
    if (values.method === undefined) throw new UserError(`missing --method; one of ${METHODS.join(', ')}`, 2);
    const method = choiceFlag('method', values.method, METHODS)!;
    const opts = explainOptions(values, method);
    const checks = (values.checks?.split(',').map((c) => c.trim()) ?? [...CHECKS]).map((c) => choiceFlag('checks', c, CHECKS)!);
    const seed = intFlag('seed', values.seed) ?? 0;
    const step = intFlag('step', values.step, 1) ?? 1;
    // Options of a check that does not run would be silently ignored.
    if (values.step !== undefined && !checks.includes('deletion'))
      throw new UserError('--step applies only to the deletion check; add deletion to --checks or drop --step', 2);
    if (values.unrelated !== undefined && !checks.includes('prompt'))
      throw new UserError('--unrelated applies only to the prompt check; add prompt to --checks or drop --unrelated', 2);
    const clip = await openModel(values);
    try {
      // Before any check runs: the randomisation check would otherwise spend 14 explanations first.
      if (checks.includes('deletion')) checkCurveStep(step, (clip.config.vision.imageSize / clip.config.vision.patchSize) ** 2);
      const image = positionals[0];
      const [text] = await textsFor(clip, image, values);
      const pair = await pairInputs(clip, image, text);
      try {
        const report = await runChecks(clip, pair, { method, opts, checks, seed, step, image, text, values });
        const label = modelLabel(clip);
        if (values.json) printJson({ ...label.json, ...report });
        else {
          label.tableHeader();
          printReport(report);
        }
      } finally {
        disposePair(pair);
      }
      return 0;
    } finally {
      clip.dispose();
    }
  },
};

interface Setup {
  method: Method;
  opts: ExplainOptions;
  checks: Check[];
  seed: number;
  step: number;
  image: string;
  text: string;
  values: { labels?: string[]; target?: string; template?: string; unrelated?: string };
}

async function runChecks(clip: BiomedCLIP, pair: Pair, s: Setup): Promise<Record<string, unknown>> {
  const progress = sanityProgress(clip, s);
  try {
    return await checks(clip, pair, s, progress);
  } finally {
    progress.bar.done();
  }
}

/**
 * The bar counts forward passes: an explanation map is one, each image of a deletion/insertion curve one.
 * At full size the checks run hundreds (14 randomisation maps, 4 × 197 curve images at --step 1).
 */
function sanityProgress(clip: BiomedCLIP, s: Setup): { bar: Progress; add(n: number): void } {
  const patches = (clip.config.vision.imageSize / clip.config.vision.patchSize) ** 2;
  const total =
    1 +
    (s.checks.includes('randomization') ? 1 + imageCascade(clip.model).length : 0) +
    (s.checks.includes('deletion') ? curveImages(patches, s.step) : 0) +
    (s.checks.includes('prompt') ? 3 : 0); // the text's map again, an unrelated text's, a shuffled one's
  const bar = progressBar(`sanity ${s.method}`, total, 'passes');
  let done = 0;
  return { bar, add: (n) => bar.update((done += n)) };
}

async function checks(clip: BiomedCLIP, pair: Pair, s: Setup, progress: { add(n: number): void }): Promise<Record<string, unknown>> {
  const mapOf: MapOf = async (inputs: PairInputs) => {
    const map = (await explain(clip.model, inputs, [s.method], s.opts))[0].imageMap;
    progress.add(1);
    return map;
  };
  const [base] = await explain(clip.model, pair, [s.method], s.opts);
  progress.add(1);
  const report: Record<string, unknown> = { method: s.method, image: s.image, text: s.text, logit: base.logit };
  if (s.checks.includes('randomization')) {
    const rows = await cascadingRandomization(clip.model, pair, mapOf, s.seed);
    report.randomization = rows.map((r) => ({ step: r.step, spearman: r.spearman, spearman_abs: r.spearmanAbs }));
  }
  if (s.checks.includes('deletion')) {
    const labels = parseLabels(s.values);
    const template = s.values.template ?? DEFAULT_TEMPLATE;
    const texts = labels ? labels.map((l) => fillTemplate(template, l)) : [s.text];
    const features = await clip.encodeTexts(texts);
    const textFeatures = tf.tensor2d(Float32Array.from(features.flatMap((e) => Array.from(e.features))), [texts.length, clip.config.embedDim]);
    try {
      const curves = await deletionInsertion(clip.model, pair.pixels, textFeatures, texts.indexOf(s.text), base.imageMap, {
        step: s.step,
        seed: s.seed,
        onImages: (n) => progress.add(n),
      });
      for (const kind of ['deletion', 'insertion'] as const) {
        const c = curves[kind];
        report[kind] = { metric: c.metric, auc: c.auc, random_auc: c.randomAuc, curve: c.curve, random_curve: c.randomCurve };
      }
    } finally {
      textFeatures.dispose();
    }
  }
  if (s.checks.includes('prompt')) {
    const shuffledText = shuffleWords(s.text, s.seed);
    const others = [
      { kind: 'unrelated' as const, text: s.values.unrelated ?? UNRELATED },
      ...(shuffledText ? [{ kind: 'shuffled' as const, text: shuffledText }] : []),
    ];
    const withIds = others.map((o) => ({ ...o, ids: tf.tensor2d(clip.tokenize([o.text]).inputIds, undefined, 'int32') }));
    try {
      report.prompt = await promptSensitivity(pair, withIds, mapOf);
    } finally {
      tf.dispose(withIds.map((o) => o.ids));
    }
    if (!shuffledText) report.prompt_note = 'the text has no two different words to shuffle';
  }
  return report;
}

function printReport(r: Record<string, unknown>): void {
  const f = (v: number) => (Number.isNaN(v) ? '   n/a' : v.toFixed(3).padStart(6));
  console.log(`${r.image}  "${r.text}"  ${r.method}  logit ${(r.logit as number).toFixed(3)}`);
  const rows = r.randomization as Array<{ step: string; spearman: number; spearman_abs: number }> | undefined;
  if (rows) {
    console.log("\ncascading randomisation (Spearman with the trained model's map; should fall towards 0):");
    console.log(`  ${'re-initialised down to'.padEnd(52)} signed  |abs|`);
    for (const row of rows) console.log(`  ${row.step.padEnd(52)} ${f(row.spearman)} ${f(row.spearman_abs)}`);
  }
  for (const kind of ['deletion', 'insertion'] as const) {
    const c = r[kind] as { metric: string; auc: number; random_auc: number } | undefined;
    if (!c) continue;
    const better = kind === 'deletion' ? c.auc < c.random_auc : c.auc > c.random_auc;
    console.log(
      `\n${kind} AUC of the target's ${c.metric}: saliency order ${c.auc.toPrecision(4)}, random order ${c.random_auc.toPrecision(4)} (${better ? 'better than random' : 'NOT better than random'}; ${kind === 'deletion' ? 'lower' : 'higher'} is better)`,
    );
  }
  const prompt = r.prompt as Array<{ kind: string; text: string; spearman: number }> | undefined;
  if (prompt) {
    console.log('\nprompt sensitivity (Spearman with the map for the text; 1 = the prompt does not matter):');
    for (const p of prompt) console.log(`  ${p.kind.padEnd(9)} ${f(p.spearman)}  "${p.text}"`);
    if (r.prompt_note) console.log(`  (${r.prompt_note})`);
  }
}
