import type { Command } from '../command.js';
import { MODEL_HELP, MODEL_OPTIONS, modelLabel, openModel, parse, printJson } from '../common.js';
import { pairHelp, PAIR_OPTIONS, checkPairValues, choiceFlag, textsFor } from '../pair.js';
import { disposePair, pairInputs } from '../../api/pair.js';
import { UserError } from '../../errors.js';
import { ABLATION_MODES, ablateHeads, type HeadAblation } from '../../inspect/ablate.js';

export const command: Command = {
  usage: `Usage: biomedclip ablate IMAGE (--text TEXT | --labels "a,b" [--target a]) [options]

For every (layer, head) of the chosen towers, switches that one head off and reports how much the pair's
logit s = exp(logit_scale) · cos(image, text) moves (Δ = ablated − original; a 12 × 12 table per tower
and mode for BiomedCLIP). See docs/explain.md.
  zero   the head's output (Σ_j A_ij v_j for every query i) is set to 0
  mean   each query's head output is replaced by its mean over the query positions of this input:
         what the head adds on average stays, what depends on the token goes (closer to the model's
         normal operating range than zero)

Options:
  --tower T          image, text or both (default both)
  --mode M           zero, mean or both (default both)

${pairHelp(false)}

${MODEL_HELP}

Output (--json): {"image", "text", "logit", "tables": [{"tower", "mode", "delta": [[Δ per head] per layer]}]}.
Cost: one batched forward per layer, tower and mode (the image tower resumes from the ablated block).

Examples:
  biomedclip ablate assets/examples/squamous_cell_carcinoma_histopathology.jpeg \\
      --text "squamous cell carcinoma" --tower image --mode mean
  biomedclip ablate assets/examples/squamous_cell_carcinoma_histopathology.jpeg \\
      --labels "adenocarcinoma,squamous cell carcinoma" --json`,

  async run(args) {
    const { values, positionals } = parse('ablate', args, {
      allowPositionals: true,
      options: { ...MODEL_OPTIONS, ...PAIR_OPTIONS, tower: { type: 'string', default: 'both' }, mode: { type: 'string', default: 'both' } },
    });
    if (positionals.length !== 1) throw new UserError('give exactly one image; usage: biomedclip ablate IMAGE --text TEXT', 2);
    checkPairValues(values);
    if ((values.text?.length ?? 0) > 1) throw new UserError('give exactly one --text (ablation explains one pair)', 2);
    const tower = choiceFlag('tower', values.tower, ['image', 'text', 'both'] as const)!;
    const mode = choiceFlag('mode', values.mode, ['zero', 'mean', 'both'] as const)!;
    const clip = await openModel(values);
    try {
      const image = positionals[0];
      const [text] = await textsFor(clip, image, values);
      const pair = await pairInputs(clip, image, text);
      const tables: HeadAblation[] = [];
      try {
        for (const t of tower === 'both' ? (['image', 'text'] as const) : [tower]) {
          for (const m of mode === 'both' ? ABLATION_MODES : [mode]) tables.push(await ablateHeads(clip.model, pair, t, m));
        }
      } finally {
        disposePair(pair);
      }
      const label = modelLabel(clip);
      if (values.json) {
        printJson({ ...label.json, image, text, logit: tables[0].logit, tables: tables.map(({ tower: t, mode: m, delta }) => ({ tower: t, mode: m, delta })) });
        return 0;
      }
      label.tableHeader();
      console.log(`${image}  "${text}"  logit ${tables[0].logit.toFixed(3)}`);
      for (const t of tables) printTable(t);
      return 0;
    } finally {
      clip.dispose();
    }
  },
};

function printTable(t: HeadAblation): void {
  const heads = t.delta[0].length;
  console.log(`\n${t.tower} tower, ${t.mode}-ablation: Δ logit (rows: layer, columns: head)`);
  console.log(`layer ${[...Array(heads).keys()].map((h) => `h${h}`.padStart(8)).join('')}`);
  t.delta.forEach((row, l) => console.log(`${String(l).padStart(5)} ${row.map((d) => d.toFixed(3).padStart(8)).join('')}`));
  const ranked = t.delta
    .flatMap((row, l) => row.map((d, h) => ({ l, h, d })))
    .sort((a, b) => Math.abs(b.d) - Math.abs(a.d))
    .slice(0, 5);
  console.log(`largest |Δ|: ${ranked.map((r) => `L${r.l}H${r.h} ${r.d.toFixed(3)}`).join('  ')}`);
}
