import * as path from 'node:path';
import type { Command } from '../command.js';
import { intOption, MODEL_HELP, MODEL_OPTIONS, modelLabel, openModel, parse, printJson } from '../common.js';
import { EXPLAIN_OPTIONS, EXPLAIN_OPTIONS_HELP, pairHelp, PAIR_OPTIONS, checkPairValues, choiceFlag, explainOptions, intFlag, textsFor } from '../pair.js';
import { DEMO_WARNING } from '../../demo/demo-model.js';
import { UserError } from '../../errors.js';
import { METHODS, type Explanation } from '../../inspect/explain.js';
import { renderHeatmap } from '../../inspect/render/heatmap.js';
import { writeFileAtomic } from '../../util/atomic.js';

export const command: Command = {
  usage: `Usage: biomedclip explain IMAGE... (--text TEXT... | --labels "a,b" [--target a]) [--method M] [options]

Explains s = exp(logit_scale) · cos(image, text) for each image and text with one method, as one value
per image patch (14 × 14 for BiomedCLIP; patch (r, c) is token 1 + 14r + c) and, for methods that have
one, one value per text token. Definitions, papers and caveats: docs/explain.md.

Methods (--method, default relevance):
  attention   block L's attention from [CLS] to each token, mean over heads (or --head H)
  rollout     attention rollout (Abnar & Zuidema 2020) through all blocks
  relevance   Chefer et al. 2021: gradient-weighted attention, accumulated over blocks, both towers
  gradcam     Grad-CAM on visual.trunk.blocks.L.norm1 (image only)
  legrad      LeGrad (Bousselham et al. 2024), [CLS]-pooled per-layer readings (image only)

Options:
  --method M         one of ${METHODS.join(', ')}
  --top K            patches listed in the summary (default 5; at most the model's patches, 196)
  --out FILE.png     picture: the crop, the map over it in viridis, a legend, the tokens; with several
                     pairs, FILE-<image>-<text>.png (1-based indices)

${EXPLAIN_OPTIONS_HELP}

${pairHelp(true)}

${MODEL_HELP}

Output (--json): one object per image-text pair: {"method", "image", "text", "grid": [14,14],
"image_map": [196 raw values, row-major], "tokens": ["[CLS]", ..., "[SEP]"], "text_map": [one per token]
or null, "logit"}. Maps are raw, not normalised; the picture normalises them.

Examples:
  biomedclip explain assets/examples/squamous_cell_carcinoma_histopathology.jpeg \\
      --text "squamous cell carcinoma" --out slide-relevance.png
  biomedclip explain assets/examples/squamous_cell_carcinoma_histopathology.jpeg \\
      --labels "adenocarcinoma,squamous cell carcinoma" --method gradcam --json
  biomedclip explain ct.png --text "pleural effusion" --method rollout --head-fusion max --discard-ratio 0.9`,

  async run(args) {
    const { values, positionals } = parse('explain', args, {
      allowPositionals: true,
      options: {
        ...MODEL_OPTIONS,
        ...PAIR_OPTIONS,
        ...EXPLAIN_OPTIONS,
        top: { type: 'string' },
        out: { type: 'string' },
      },
    });
    if (positionals.length === 0) throw new UserError('no images given; usage: biomedclip explain IMAGE... --text TEXT', 2);
    checkPairValues(values);
    const method = choiceFlag('method', values.method ?? 'relevance', METHODS)!;
    const opts = explainOptions(values, method);
    const top = intFlag('top', values.top, 1) ?? 5;
    if (values.out !== undefined && path.extname(values.out).toLowerCase() !== '.png') throw new UserError(`--out ${values.out}: expected a .png file name`, 2);
    const clip = await openModel(values);
    try {
      // --top lists patches: more than the model has is a typo (it printed all of them without a word).
      const patches = (clip.config.vision.imageSize / clip.config.vision.patchSize) ** 2;
      intOption('top', values.top, 1, patches, `the model's ${patches} patches`);
      const label = modelLabel(clip);
      const results: Array<Record<string, unknown>> = [];
      const pictures: Array<{ file: string; png: Buffer }> = [];
      const pairs: Array<{ image: string; text: string; i: number; j: number }> = [];
      await clip.checkImages(positionals); // all of them before the first explanation
      for (const [i, image] of positionals.entries()) (await textsFor(clip, image, values)).forEach((text, j) => pairs.push({ image, text, i, j }));
      if (!values.json) label.tableHeader();
      for (const { image, text, i, j } of pairs) {
        const { explanations, tokens, crop } = await clip.explain(image, text, [method], opts);
        const e = explanations[0];
        results.push({ ...label.json, method, image, text, grid: e.grid, image_map: e.imageMap, tokens, text_map: e.textMap, logit: e.logit });
        if (values.out) {
          const file = pairs.length === 1 ? values.out : values.out.replace(/\.png$/i, `-${i + 1}-${j + 1}.png`);
          const s = clip.config.preprocess.imageSize;
          const canvas = renderHeatmap({
            crop,
            size: s,
            grid: e.grid,
            imageMap: e.imageMap,
            title: `${method}  logit ${e.logit.toFixed(3)}  ${path.basename(image)}`,
            text,
            tokens,
            textMap: e.textMap,
            warning: clip.isDemo ? DEMO_WARNING : undefined,
          });
          pictures.push({ file, png: canvas.toPng() });
        }
        if (!values.json) printSummary(image, text, e, tokens, top);
      }
      // Pictures are written only once every pair has been explained: an error leaves no partial output.
      for (const p of pictures) await writeFileAtomic(p.file, p.png);
      if (values.json) printJson(results);
      else for (const p of pictures) console.log(`wrote ${p.file}`);
      return 0;
    } finally {
      clip.dispose();
    }
  },
};

/** Ten shades, dark to bright: a 14 × 14 map readable in a terminal. */
const SHADES = ' .:-=+*#%@';

function printSummary(image: string, text: string, e: Explanation, tokens: string[], top: number): void {
  const [rows, cols] = e.grid;
  const map = Array.from(e.imageMap);
  const [min, max] = [Math.min(...map), Math.max(...map)];
  console.log(`${image}  "${text}"  ${e.method}  logit ${e.logit.toFixed(3)}`);
  const ranked = map
    .map((v, k) => ({ v, k }))
    .sort((a, b) => b.v - a.v)
    .slice(0, top);
  console.log(`  top patches (row, col): ${ranked.map(({ v, k }) => `(${Math.floor(k / cols)}, ${k % cols}) ${v.toPrecision(3)}`).join('  ')}`);
  for (let r = 0; r < rows; r++) {
    const row = map.slice(r * cols, (r + 1) * cols).map((v) => SHADES[max > min ? Math.min(9, Math.floor(((v - min) / (max - min)) * 10)) : 0]);
    console.log(`  |${row.map((c) => c + c).join('')}|`);
  }
  if (e.textMap) console.log(`  tokens: ${tokens.map((t, k) => `${t} ${e.textMap![k].toPrecision(3)}`).join('  ')}`);
}
