/**
 * A teaching summary of the model, like torchinfo's: every module by its checkpoint path, in forward
 * order, with the shape of its output and the number of parameters it (and its children) hold.
 *
 * Everything comes from the modules' own declarations (spec.ts), so no weights are needed: the public
 * checkpoint's 195,902,721 parameters and every hook shape can be checked from `open_clip_config.json`
 * alone. With a model, `recordHookShapes` records the shapes a real forward pass produces instead (a test
 * keeps the two equal, which is what proves the declarations true).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BiomedCLIPModel } from './clip.js';
import type { ClipConfig } from './config.js';
import { Hooks } from './hooks.js';
import type { Dim, HookPointSpec, PointKind } from './module.js';
import { expectedTensorShapes, modelSpec, pointShapes } from './spec.js';

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

interface Node {
  name: string;
  children: Map<string, Node>;
  /** Position of this node's hook in forward order, if it has one. */
  hook?: number;
  parameterShape?: number[];
  parameters: number;
}

function child(parent: Node, part: string): Node {
  let node = parent.children.get(part);
  if (!node) {
    node = { name: parent.name ? `${parent.name}.${part}` : part, children: new Map(), parameters: 0 };
    parent.children.set(part, node);
  }
  return node;
}

/** The module tree: modules are the key paths without their last part; hooks add hook-only leaves. */
function buildTree(cfg: ClipConfig, shapes: Map<string, number[]>): Node {
  const root: Node = { name: '', children: new Map(), parameters: 0 };
  for (const [key, shape] of expectedTensorShapes(cfg)) {
    const parts = key.split('.');
    const count = shape.reduce((a, d) => a * d, 1);
    let node = root;
    node.parameters += count;
    // weight/bias belong to their module; other tensors (cls_token, pos_embed, logit_scale) get a row.
    const last = parts[parts.length - 1];
    const path = last === 'weight' || last === 'bias' ? parts.slice(0, -1) : parts;
    for (const part of path) {
      node = child(node, part);
      node.parameters += count;
    }
    if (path.length === parts.length) node.parameterShape = shape;
  }
  let i = 0;
  for (const name of shapes.keys()) {
    let node = root;
    for (const part of name.split('.')) node = child(node, part);
    node.hook = i++;
  }
  return root;
}

function firstHook(node: Node): number | undefined {
  let best = node.hook;
  for (const c of node.children.values()) {
    const h = firstHook(c);
    if (h !== undefined && (best === undefined || h < best)) best = h;
  }
  return best;
}

/**
 * Children in forward order. Numbered children (blocks, layers, Sequential items) run in number order.
 * Otherwise a child runs at its first hook; a child no hook sees (LayerNorm in BERT's output, cls_token)
 * runs right after the sibling before it in checkpoint order, which is how the checkpoint lists them.
 */
function ordered(node: Node): Node[] {
  const kids = [...node.children.entries()];
  if (kids.every(([k]) => /^\d+$/.test(k))) return kids.sort((a, b) => Number(a[0]) - Number(b[0])).map(([, n]) => n);
  let last = -1;
  const keyed = kids.map(([, n], i) => {
    const h = firstHook(n);
    if (h !== undefined) last = h;
    return { n, key: h ?? last + 1e-3 * (i + 1) / kids.length, i };
  });
  return keyed.sort((a, b) => a.key - b.key || a.i - b.i).map((k) => k.n);
}

/** The summary rows (depth-first, forward order) and totals for `cfg`, with output shapes from `shapes`. */
export function summarize(cfg: ClipConfig, shapes: Map<string, number[]> = pointShapes(cfg, { images: SUMMARY_BATCH.images, texts: SUMMARY_BATCH.texts, tokens: SUMMARY_BATCH.textTokens })): ModelSummary {
  const points = new Map<string, HookPointSpec>(modelSpec(cfg).points.map((p) => [p.name, p]));
  const root = buildTree(cfg, shapes);
  const rows: SummaryRow[] = [];
  const visit = (node: Node, depth: number) => {
    const isParameter = node.parameterShape !== undefined && node.children.size === 0;
    rows.push({
      name: node.name,
      depth,
      kind: isParameter ? 'parameter' : 'module',
      outputShape: shapes.get(node.name) ?? null,
      ...(points.has(node.name) ? { hook: { shape: points.get(node.name)!.shape, kind: points.get(node.name)!.kind } } : {}),
      ...(isParameter ? { parameterShape: node.parameterShape } : {}),
      parameters: node.parameters,
    });
    for (const c of ordered(node)) visit(c, depth + 1);
  };
  for (const c of ordered(root)) visit(c, 0);
  const top = (name: string) => root.children.get(name)?.parameters ?? 0;
  return { rows, totals: { visual: top('visual'), text: top('text'), logit_scale: top('logit_scale'), total: root.parameters } };
}
