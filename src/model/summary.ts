/**
 * A teaching summary of the model, like torchinfo's: every module by its checkpoint path, in forward
 * order, with the shape of its output and the number of parameters it (and its children) hold.
 *
 * Everything comes from the modules' own declarations (spec.ts), so no weights are needed: the public
 * checkpoint's 195,902,721 parameters and every hook shape can be checked from `open_clip_config.json`
 * alone. With a model, `recordHookShapes` records the shapes a real forward pass produces instead (a test
 * keeps the two equal, which is what proves the declarations true). The rows are the module tree as the
 * constructors built it (`children()` in forward order, `parameters()` for the counts), walked as is.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BiomedCLIPModel } from './clip.js';
import type { ClipConfig } from './config.js';
import { Hooks } from './hooks.js';
import { HookPoint, isModule, type Dim, type Module, type PointKind } from './module.js';
import { modelSpec, pointShapes } from './spec.js';

/** The example batch a summary describes: one image and one text of 8 tokens ([CLS] 6 words [SEP]). */
export const SUMMARY_BATCH = { images: 1, texts: 1, textTokens: 8 } as const;

export interface SummaryRow {
  /** Checkpoint path (`visual.trunk.blocks.0.attn`), or a hook-only name (`....attn.probs`). */
  name: string;
  /** Nesting level: 0 for `visual`, `text`, `logit_scale`. */
  depth: number;
  /** 'module' (has an output), 'parameter' (a tensor held directly, like `cls_token`). */
  kind: 'module' | 'parameter';
  /** The output shape for the summary batch; null for modules that publish no hook point of their own. */
  outputShape: number[] | null;
  /** For hook points: the declared shape (`B` batch, `T` text tokens) and how parity compares them. */
  hook?: { shape: Dim[]; kind: PointKind };
  /** For parameter rows: the tensor's shape. */
  parameterShape?: number[];
  /** Scalar parameters in this module and everything under it. */
  parameters: number;
}

export interface ModelSummary {
  rows: SummaryRow[];
  totals: { visual: number; text: number; logit_scale: number; total: number };
}

/** Runs the summary batch (images of zeros, 8-token texts) through `model`, recording every hook's name and shape. */
export function recordHookShapes(model: BiomedCLIPModel): Map<string, number[]> {
  const hooks = new Hooks({}, true);
  const s = model.config.vision.imageSize;
  // [CLS]=2, six ordinary ids (5..10 exist in any BERT vocab of this layout), [SEP]=3.
  const ids = [2, 5, 6, 7, 8, 9, 10, 3].slice(0, SUMMARY_BATCH.textTokens);
  tf.tidy(() => {
    model.encodeImage(tf.zeros([SUMMARY_BATCH.images, 3, s, s]) as tf.Tensor4D, hooks);
    model.encodeText(tf.tensor2d(Array(SUMMARY_BATCH.texts).fill(ids), [SUMMARY_BATCH.texts, ids.length], 'int32'), hooks);
  });
  return new Map(hooks.seen);
}

/** The summary rows (depth-first, forward order) and totals for `cfg`, with output shapes from `shapes`. */
export function summarize(
  cfg: ClipConfig,
  shapes: Map<string, number[]> = pointShapes(cfg, { images: SUMMARY_BATCH.images, texts: SUMMARY_BATCH.texts, tokens: SUMMARY_BATCH.textTokens }),
): ModelSummary {
  const { params, model } = modelSpec(cfg);
  const size = (key: string) => params.get(key)!.reduce((a, d) => a * d, 1);
  const count = (m: Module) => m.parameters().reduce((n, [key]) => n + size(key), 0);
  const rows: SummaryRow[] = [];
  const pointRow = (p: HookPoint, depth: number, parameters: number): SummaryRow => ({
    name: p.name,
    depth,
    kind: 'module',
    outputShape: shapes.get(p.name) ?? null,
    hook: { shape: p.shape, kind: p.kind },
    parameters,
  });
  // A module's row, then rows for the tensors it holds directly (not a weight or bias: `cls_token`),
  // then its children in forward order: the tree the constructors built, so no ordering is guessed.
  const visit = (m: Module, depth: number) => {
    const own = m.point;
    rows.push(own ? pointRow(own, depth, count(m)) : { name: m.path, depth, kind: 'module', outputShape: shapes.get(m.path) ?? null, parameters: count(m) });
    contents(m, depth + 1);
  };
  const contents = (m: Module, depth: number) => {
    const inChildren = new Set(
      m
        .children()
        .filter(isModule)
        .flatMap((c) => c.parameters().map(([key]) => key)),
    );
    const direct = m.parameters().filter(([key]) => !inChildren.has(key) && !/\.(weight|bias)$/.test(key));
    for (const [key] of direct) {
      rows.push({ name: key, depth, kind: 'parameter', outputShape: shapes.get(key) ?? null, parameterShape: params.get(key), parameters: size(key) });
    }
    for (const c of m.children()) {
      if (isModule(c)) visit(c, depth);
      else rows.push(pointRow(c, depth, 0)); // a hook-only point (`attn.probs`): no parameters of its own
    }
  };
  contents(model, 0);
  return { rows, totals: { visual: count(model.visual), text: count(model.text), logit_scale: size('logit_scale'), total: count(model) } };
}
