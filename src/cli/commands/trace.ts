import type { Command } from '../command.js';
import { MODEL_HELP, MODEL_OPTIONS, modelLabel, openModel, outputFile, padToOption, parse, printJson } from '../common.js';
import { DEMO_LABEL } from '../../demo/demo-model.js';
import type { TraceInputs } from '../../api/biomedclip.js';
import { UserError } from '../../errors.js';
import type { HostTensor } from '../../host-tensor.js';
import { checkInputsFitModel, readReferenceInputs } from '../../parity/run.js';
import { describeNonFinite, findNonFinite } from '../../util/finite.js';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../../weights/index.js';

export const command: Command = {
  usage: `Usage: biomedclip trace [--image FILE]... [--text TEXT]... [--inputs FILE] --out FILE [options]

Runs the model and saves every captured activation under its hook name: the PyTorch module path
(visual.trunk.blocks.3.attn.qkv, text.transformer.encoder.layer.0.attention.self, ...), plus attention's
.scores (pre-softmax) and .probs [B,12,S,S], .context [B,12,S,64] (per head, before merging) and each ViT
block's .resid_mid; \`biomedclip summary\` lists every hook. A --capture pattern that matches no hook is
an error naming the closest hooks. Images are batched in the order given, then texts. The file also holds
inputs.pixel_values, inputs.input_ids and outputs.{image_features,text_features,logits_per_image}, the
layout of the PyTorch reference's golden files, so \`biomedclip parity\` can compare the two.

Options:
  --image FILE       an image; repeatable
  --text TEXT        a text; repeatable
  --inputs FILE      a safetensors file with pixel_values [B,3,S,S] and/or input_ids [N,T]
                     (also accepts inputs.pixel_values / inputs.input_ids, as in reference files)
  --capture GLOB     hooks to save ('*' matches any characters); repeatable; default: all
  --pad-to N         pad texts to N tokens (default: the longest text)
  --out FILE         the safetensors file to write (written atomically)
  --list             only print the hook names and shapes these inputs produce
  --allow-nonfinite  load weights with NaN/Inf and write non-finite activations anyway (by default both
                     are refused, naming the first tensor or hook that holds them): to find where a
                     broken checkpoint goes wrong
${MODEL_HELP}

Examples:
  biomedclip trace --image assets/examples/adenocarcinoma_histopathology.jpg \\
      --capture 'visual.trunk.blocks.*.attn.probs' --out attn.safetensors
  biomedclip trace --text "tumor cells" --text "normal tissue" --pad-to 256 --out text.safetensors
  biomedclip trace --inputs golden.safetensors --out ours.safetensors`,

  async run(args) {
    const { values } = parse('trace', args, {
      options: {
        ...MODEL_OPTIONS,
        image: { type: 'string', multiple: true },
        text: { type: 'string', multiple: true },
        inputs: { type: 'string' },
        capture: { type: 'string', multiple: true },
        'pad-to': { type: 'string' },
        out: { type: 'string' },
        list: { type: 'boolean', default: false },
        'allow-nonfinite': { type: 'boolean', default: false },
      },
    });
    if (!values.out && !values.list) throw new UserError('missing --out FILE (or --list to only show hook names)', 2);
    const inputs: TraceInputs = { images: values.image, texts: values.text, ...(values.inputs ? await readInputs(values.inputs) : {}) };
    if (!inputs.images?.length && !inputs.texts?.length && !inputs.pixelValues && !inputs.inputIds) {
      throw new UserError('nothing to trace; pass --image, --text or --inputs', 2);
    }
    const padTo = padToOption(values['pad-to']);
    if (values.out) outputFile('out', values.out, '.safetensors');
    const allowNonfinite = values['allow-nonfinite'];
    const clip = await openModel({ ...values, allowNonfinite });
    try {
      if (values.inputs) checkInputsFitModel(values.inputs, inputs, clip);
      const traced = await clip.trace(inputs, { padTo, capture: values.capture ?? ['*'] });
      if (!allowNonfinite) refuseNonFinite(traced);
      const listing = [...traced].map(([name, t]) => ({ name, shape: t.shape }));
      if (values.out) {
        const metadata = {
          format: 'biomedclip-ts trace v1',
          backend: clip.backend,
          model: clip.modelDir,
          ...(clip.isDemo ? { weights: DEMO_LABEL } : {}),
          images: JSON.stringify(values.image ?? []),
          texts: JSON.stringify(values.text ?? []),
        };
        await writeSafetensors(
          values.out,
          [...traced].map(([name, t]) => toWrite(name, t)),
          metadata,
        );
      }
      const label = modelLabel(clip);
      if (values.json) printJson({ ...label.json, out: values.out ?? null, tensors: listing });
      else {
        label.tableHeader();
        for (const t of listing) console.log(`${t.name} [${t.shape.join(', ')}]`);
      }
      return 0;
    } finally {
      clip.dispose();
    }
  },
};

/** A trace whose outputs hold NaN/Inf is refused, naming the first hook (in forward order) that went non-finite. */
function refuseNonFinite(traced: Map<string, HostTensor>): void {
  const bad = [...traced].map(([name, t]) => ({ name, bad: findNonFinite(t.data) })).filter((x) => x.bad !== undefined);
  if (bad.length === 0) return;
  const first = bad[0];
  throw new UserError(
    `trace: '${first.name}' is the first captured tensor with ${describeNonFinite(first.bad!)}; the model overflows float32 on these inputs (pass --allow-nonfinite to write the trace anyway)`,
  );
}

function toWrite(name: string, t: HostTensor): TensorToWrite {
  if (name === 'inputs.input_ids') return { name, dtype: 'I64', shape: t.shape, data: BigInt64Array.from(t.data, (x) => BigInt(x)) };
  return { name, dtype: 'F32', shape: t.shape, data: t.data };
}

async function readInputs(file: string): Promise<Pick<TraceInputs, 'pixelValues' | 'inputIds'>> {
  const f = await SafetensorsFile.open(file);
  try {
    return await readReferenceInputs(f);
  } finally {
    await f.close();
  }
}
