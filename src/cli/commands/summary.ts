import type { Command } from '../command.js';
import { MODEL_HELP, MODEL_OPTIONS, openModel, readsNoImages, parse, printJson } from '../common.js';
import { UserError } from '../../errors.js';
import type { ClipConfig } from '../../model/config.js';
import { parseOpenClipConfig } from '../../model/config.js';
import { modelSpec } from '../../model/spec.js';
import { SUMMARY_BATCH, recordHookShapes, summarize, type ModelSummary, type SummaryRow } from '../../model/summary.js';
import { readJsonFile } from '../../util/json-file.js';

export const command: Command = {
  usage: `Usage: biomedclip summary [--model DIR | --config open_clip_config.json] [--depth N] [--json]

Lists every module by its checkpoint path (visual.trunk.blocks.0.attn.qkv, text.proj.0, ...) in forward
order, with the shape of its output for a batch of ${SUMMARY_BATCH.images} image and ${SUMMARY_BATCH.texts} text of ${SUMMARY_BATCH.textTokens} tokens, and the number of
parameters it holds (children included); then the totals per tower and overall (195,902,721 for the
public BiomedCLIP checkpoint). Every row with a shape is a hook point that trace, parity and the hook
API take by name. Points that are not modules: attention's .scores (before softmax, mask added), .probs
and .context (per head, before the heads are merged), and each ViT block's .resid_mid (the residual
stream between attention and MLP). --json also lists the hook points in forward order ("hooks"), each
with its declared shape (B = batch, T = text tokens) and kind (probs, scores or activation), and the
checkpoint's tensors ("tensors": every open_clip state-dict key the model reads, with its shape, in the
order the modules declare them; scripts/make_torch_fixtures.py builds its checkpoints from this list).

With --model the shapes are recorded from a real forward pass. With --config no weights are needed: the
shapes come from the modules' declarations (the same shapes; a test keeps the two in step).

Options:
  --config FILE      an open_clip_config.json; no weights needed
  --depth N          show modules nested at most N levels deep (0 = visual, text, logit_scale)
${MODEL_HELP}

Examples:
  biomedclip summary --model demo
  biomedclip summary --config open_clip_config.json --depth 2
  biomedclip summary --model DIR --json > modules.json`,

  async run(args) {
    const { values } = parse('summary', args, {
      options: { ...MODEL_OPTIONS, config: { type: 'string' }, depth: { type: 'string' } },
    });
    readsNoImages('summary', values);
    if (values.config && values.model) throw new UserError('pass either --model DIR or --config FILE, not both', 2);
    const depth = parseDepth(values.depth);
    const { summary, source, cfg } = values.config ? fromConfig(values.config) : await fromModel(values);
    if (values.json) {
      const spec = modelSpec(cfg);
      // The key table other tools build checkpoints from, so that no second copy of it is kept by hand.
      const tensors = [...spec.params].map(([name, shape]) => ({ name, shape }));
      const rows = summary.rows.filter((r) => r.depth <= depth);
      printJson({ source, batch: SUMMARY_BATCH, embedDim: cfg.embedDim, hooks: spec.points, tensors, rows, totals: summary.totals });
    } else {
      console.log(formatSummary(summary, source, depth));
    }
    return 0;
  },
};

function parseDepth(value: string | undefined): number {
  if (value === undefined) return Infinity;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`--depth ${value}: expected an integer >= 0`, 2);
  return n;
}

function fromConfig(file: string): { summary: ModelSummary; source: string; cfg: ClipConfig } {
  const cfg = parseOpenClipConfig(readJsonFile(file, 'pass an open_clip_config.json'), file);
  return { summary: summarize(cfg), source: `config ${file} (no weights; shapes declared by the modules)`, cfg };
}

async function fromModel(values: { model?: string; backend?: string; quiet?: boolean }) {
  const clip = await openModel(values);
  try {
    const cfg = clip.config;
    const summary = summarize(cfg, recordHookShapes(clip.model));
    return { summary, source: `model ${clip.modelDir} (shapes from a forward pass on ${clip.backend})`, cfg };
  } finally {
    clip.dispose();
  }
}

const fmt = (n: number) => n.toLocaleString('en-US');

function shapeText(r: SummaryRow): string {
  if (r.parameterShape) return `(parameter [${r.parameterShape.join(', ')}])`;
  return r.outputShape ? `[${r.outputShape.join(', ')}]` : '-';
}

export function formatSummary(s: ModelSummary, source: string, depth = Infinity): string {
  const rows = s.rows.filter((r) => r.depth <= depth);
  const names = rows.map((r) => `${'  '.repeat(r.depth)}${r.name}`);
  const shapes = rows.map(shapeText);
  const params = rows.map((r) => (r.parameters > 0 ? fmt(r.parameters) : '-'));
  const [wn, ws, wp] = [Math.max(6, ...names.map((x) => x.length)), Math.max(12, ...shapes.map((x) => x.length)), Math.max(10, ...params.map((x) => x.length))];
  const line = (a: string, b: string, c: string) => `${a.padEnd(wn)}  ${b.padEnd(ws)}  ${c.padStart(wp)}`;
  const t = s.totals;
  return [
    `BiomedCLIP summary: ${source}`,
    `batch: ${SUMMARY_BATCH.images} image, ${SUMMARY_BATCH.texts} text of ${SUMMARY_BATCH.textTokens} tokens`,
    '',
    line('module', 'output shape', 'parameters'),
    ...rows.map((_, i) => line(names[i], shapes[i], params[i])),
    '',
    `image tower (visual):  ${fmt(t.visual).padStart(13)}`,
    `text tower (text):     ${fmt(t.text).padStart(13)}`,
    `logit_scale:           ${fmt(t.logit_scale).padStart(13)}`,
    `total parameters:      ${fmt(t.total).padStart(13)}`,
  ].join('\n');
}
