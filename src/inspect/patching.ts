/**
 * Activation patching (causal tracing; Meng et al. 2022, "Locating and Editing Factual Associations"):
 * run a corrupted input, but with one activation taken from the clean run at one layer and one token
 * position (and one head), and measure how much of the logit difference that single piece restores:
 *
 *   recovered = (s_patched − s_corrupted) / (s_clean − s_corrupted)
 *
 * 1 means that activation alone carries the difference, 0 that it carries none of it. The clean and
 * corrupted pairs differ in one tower (another image, or a text of the same token length); the patched
 * point belongs to that tower. Points are any hook with `{layer}` in its name: the residual stream
 * `visual.trunk.blocks.{layer}` (the default, [B, S, W]: patched per position) or `….resid_mid`, a head's
 * context `…attn.context` ([B, H, S, D]: per query position, and per head with `perHead`), and so on.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import type { BiomedCLIPModel } from '../model/clip.js';
import { Hooks, checkPatterns } from '../model/hooks.js';
import { modelSpec } from '../model/spec.js';
import type { PairInputs } from './probe.js';
import { imageFeaturesFrom, logitsAgainst, residualStream } from './resume.js';

export interface PatchOptions {
  /** Hook name with `{layer}` (default `visual.trunk.blocks.{layer}`, the residual stream after each block). */
  point?: string;
  /** Layers to patch (default: all of the point's tower). */
  layers?: number[];
  /** Token positions to patch (default: all). */
  positions?: number[];
  /** Patch each head on its own (points with a head axis only). */
  perHead?: boolean;
  /** Variants per forward pass (default 16). */
  batchSize?: number;
}

export interface PatchResult {
  point: string;
  clean: number;
  corrupted: number;
  layers: number[];
  positions: number[];
  /** recovered[i][j] for layers[i], positions[j]; with perHead, recovered[i][j][h]. */
  recovered: number[][] | number[][][];
}

/** One patched variant: a token position, and a head or all heads. */
interface Variant {
  position: number;
  head?: number;
}

/** x [B, S, W] or [B, H, S, X] with item k's (position, head) taken from `clean` (batch 1). */
function patchPerItem(x: tf.Tensor, clean: tf.Tensor, variants: Variant[]): tf.Tensor {
  const headAxis = x.rank === 4;
  const shape = x.shape as number[];
  const [b, heads, positions] = headAxis ? [shape[0], shape[1], shape[2]] : [shape[0], 1, shape[1]];
  const m = new Float32Array(b * heads * positions);
  variants.forEach((v, k) => {
    for (let h = 0; h < heads; h++) if (v.head === undefined || v.head === h) m[(k * heads + h) * positions + v.position] = 1;
  });
  const mask = headAxis ? tf.tensor4d(m, [b, heads, positions, 1]) : tf.tensor3d(m, [b, positions, 1]);
  return tf.add(x, tf.mul(mask, tf.sub(clean, x))); // x where mask is 0, clean where it is 1
}

export async function patchActivations(model: BiomedCLIPModel, clean: PairInputs, corrupted: PairInputs, opts: PatchOptions = {}): Promise<PatchResult> {
  // By default the residual stream after each block, named by the blocks themselves; `point` is only the
  // way the result reads (a ModuleList's item l is `${path}.l`).
  const { blocks } = model.visual.trunk;
  const point = opts.point ?? `${blocks.path}.{layer}`;
  const under = (m: { path: string }) => point.startsWith(`${m.path}.`);
  const tower = under(model.visual) ? 'image' : under(model.text) ? 'text' : undefined;
  if (tower === undefined || !point.includes('{layer}'))
    throw new UserError(`patch point '${point}': expected a ${model.visual.path}.* or ${model.text.path}.* hook name with {layer} in it`);
  if (tower === 'text' && clean.ids.shape[1] !== corrupted.ids.shape[1]) {
    throw new UserError(`patching text positions needs texts of equal token length (${clean.ids.shape[1]} vs ${corrupted.ids.shape[1]})`);
  }
  const cfg = tower === 'image' ? model.config.vision : model.config.text;
  const layers = opts.layers ?? [...Array(cfg.layers).keys()];
  // A layer past the tower's gets a name from the pattern, which checkPatterns then refuses with the closest names.
  const names = layers.map((l) => (opts.point === undefined && blocks[l] !== undefined ? blocks[l].point.name : point.replace('{layer}', String(l))));
  checkPatterns(names, [...modelSpec(model.config).points.map((p) => p.name)], 'patch point');
  const captured = new Hooks({ capture: names });
  const [sClean, textCorrupt, imageCorrupt] = tf.tidy(() => {
    const s = model.logits(
      model.encodeImage(clean.pixels, tower === 'image' ? captured : undefined),
      model.encodeText(clean.ids, tower === 'text' ? captured : undefined),
    );
    return [s, model.encodeText(corrupted.ids), model.encodeImage(corrupted.pixels)];
  });
  const sCorrupt = tf.tidy(() => model.logits(imageCorrupt, textCorrupt));
  const stream = tower === 'image' ? residualStream(model, corrupted.pixels) : [];
  try {
    const [s0, s1] = [(await sClean.data())[0], (await sCorrupt.data())[0]];
    const first = captured.captured.get(names[0])!;
    const headAxis = first.rank === 4;
    if (opts.perHead && !headAxis) throw new UserError(`perHead: '${names[0]}' has no head axis (shape [${first.shape}])`);
    const positions = opts.positions ?? [...Array(first.shape[headAxis ? 2 : 1]).keys()];
    const variants: Variant[] = positions.flatMap((position) =>
      opts.perHead ? [...Array((first.shape as number[])[1]).keys()].map((head) => ({ position, head })) : [{ position }],
    );
    const batch = opts.batchSize ?? 16;
    const recovered: number[][] = [];
    for (let i = 0; i < layers.length; i++) {
      const row: number[] = [];
      for (let start = 0; start < variants.length; start += batch) {
        const chunk = variants.slice(start, start + batch);
        const edits = [{ pattern: names[i], fn: (x: tf.Tensor) => patchPerItem(x, captured.captured.get(names[i])!, chunk) }];
        const logits = tf.tidy(() => {
          if (tower === 'image') return logitsAgainst(model, imageFeaturesFrom(model, corrupted.pixels, stream, layers[i], chunk.length, edits), textCorrupt);
          const ids = tf.tile(corrupted.ids, [chunk.length, 1]) as tf.Tensor2D;
          return tf.reshape(model.logits(imageCorrupt, model.encodeText(ids, new Hooks({ edits }))), [-1]);
        });
        row.push(...Array.from(await logits.data(), (s) => (s - s1) / (s0 - s1)));
        logits.dispose();
      }
      recovered.push(row);
    }
    const h = (first.shape as number[])[1];
    const perHead = opts.perHead ? recovered.map((row) => positions.map((_, j) => row.slice(j * h, (j + 1) * h))) : recovered;
    return { point, clean: s0, corrupted: s1, layers, positions, recovered: perHead };
  } finally {
    captured.dispose();
    tf.dispose([sClean, sCorrupt, textCorrupt, imageCorrupt, ...stream.filter((t): t is tf.Tensor3D => t !== undefined)]);
  }
}
