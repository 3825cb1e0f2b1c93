import { softmaxRow } from '../../api/scores.js';
import * as tf from '@tensorflow/tfjs-core';
import type { Command } from '../command.js';
import { MODEL_HELP, MODEL_OPTIONS, modelLabel, openModel, parse, printJson } from '../common.js';
import { choiceFlag, parseLabels } from '../pair.js';
import { DEFAULT_TEMPLATE, fillTemplate } from '../../api/biomedclip.js';
import { UserError } from '../../errors.js';
import { logitLens } from '../../inspect/lens.js';

export const command: Command = {
  usage: `Usage: biomedclip lens IMAGE (--text TEXT... | --labels "a,b,c") [options]

The logit lens for the image tower: after every block, the residual stream's [CLS] token is passed
through visual.trunk.norm and visual.head.proj as if the trunk ended there, and scored against each text
(cosine, and logit = exp(logit_scale) · cosine; with --labels also the zero-shot probability). It shows
at which depth the image embedding starts to agree with a prompt. Only the last row is what the model
outputs; earlier rows are off-distribution for the head: read the trend, not the absolute values.

Options:
  --text TEXT        a text; repeatable
  --labels "a,b,c"   zero-shot labels, each put into --template (adds a probability column per label);
                     CSV quoting for a label with a comma, repeats append (as classify)
  --template T       prompt template with {} (default "${DEFAULT_TEMPLATE}")
  --pool P           cls (default: as the model pools) or mean (token mean, as LeGrad's open_clip code)

${MODEL_HELP}

Output (--json): {"image", "texts", "layers": [{"layer", "cosine": [per text], "logit": [per text],
"probability": [per label] (with --labels)}]}.

Examples:
  biomedclip lens assets/examples/squamous_cell_carcinoma_histopathology.jpeg \\
      --labels "adenocarcinoma,squamous cell carcinoma,normal tissue"
  biomedclip lens assets/examples/squamous_cell_carcinoma_histopathology.jpeg \\
      --text "keratin pearls" --json`,

  async run(args) {
    const { values, positionals } = parse('lens', args, {
      allowPositionals: true,
      options: {
        ...MODEL_OPTIONS,
        text: { type: 'string', multiple: true },
        labels: { type: 'string', multiple: true },
        template: { type: 'string' },
        pool: { type: 'string' },
      },
    });
    if (positionals.length !== 1) throw new UserError('give exactly one image; usage: biomedclip lens IMAGE --text TEXT', 2);
    const labels = parseLabels(values);
    if (!values.text?.length && !labels) throw new UserError('no text given; pass --text TEXT or --labels "a,b"', 2);
    if (values.text?.length && labels) throw new UserError('--text and --labels exclude each other', 2);
    const pool = choiceFlag('pool', values.pool, ['cls', 'mean'] as const);
    const texts = values.text ?? labels!.map((l) => fillTemplate(values.template ?? DEFAULT_TEMPLATE, l));
    const clip = await openModel(values);
    try {
      const image = positionals[0];
      const px = await clip.pixelValues([image]);
      const [pixels, textFeatures] = [
        tf.tensor4d(px.data, px.shape as [number, number, number, number]),
        tf.tensor2d(Float32Array.from((await clip.encodeTexts(texts)).flatMap((e) => Array.from(e.features))), [texts.length, clip.config.embedDim]),
      ];
      const rows = await logitLens(clip.model, pixels, textFeatures, pool);
      tf.dispose([pixels, textFeatures]);
      const withProbs = rows.map((r) => ({ ...r, ...(labels ? { probability: softmaxRow(r.logit) } : {}) }));
      const label = modelLabel(clip);
      if (values.json) {
        printJson({ ...label.json, image, texts, layers: withProbs });
        return 0;
      }
      label.tableHeader();
      console.log(`${image}: each block's [CLS] through visual.trunk.norm and visual.head.proj`);
      const names = labels ?? texts;
      console.log(`layer  ${names.map((n) => n.slice(0, 24).padStart(26)).join('')}`);
      for (const r of withProbs) {
        const cells = r.cosine.map(
          (c, i) => `${c.toFixed(4)} ${r.probability ? `${(r.probability[i] * 100).toFixed(1).padStart(5)}%` : `(${r.logit[i].toFixed(2)})`}`,
        );
        console.log(`${String(r.layer).padStart(5)}  ${cells.map((c) => c.padStart(26)).join('')}`);
      }
      console.log(labels ? 'cells: cosine and zero-shot probability' : 'cells: cosine (logit)');
      return 0;
    } finally {
      clip.dispose();
    }
  },
};
