/**
 * Hook points: every named activation of both towers passes through `hooks.point(name, x)`.
 *
 * Names are PyTorch module paths (`visual.trunk.blocks.3.attn.qkv`), plus `.probs` for the attention
 * softmax output, so a capture lines up with `register_forward_hook` in PyTorch. A hook can
 *   - capture: keep a copy-free reference of the activation (`tf.keep`, disposed by `Hooks.dispose()`),
 *   - edit: return a replacement tensor (zero a head, patch in an activation from another run).
 * Edits are ordinary TF.js ops, so `tf.grad` flows through them. With no hooks, `point` returns `x`
 * untouched after one boolean check: capturing nothing costs nothing.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Returns a replacement for `x`, or undefined to leave it unchanged. */
export type EditFn = (x: tf.Tensor, name: string) => tf.Tensor | undefined;

export interface HookOptions {
  /** Glob patterns (`*` matches any run of characters, dots included) of activations to capture. */
  capture?: string[];
  /** Edits keyed by glob pattern; several matching edits run in the order given. */
  edits?: Array<{ pattern: string; fn: EditFn }>;
}

/** Compiles a glob (`visual.trunk.blocks.*.attn.probs`) to an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

export class Hooks {
  /** Captured activations by hook name, in forward order. Owned by this object until `dispose()`. */
  readonly captured = new Map<string, tf.Tensor>();
  /** Every hook name the last forward passed through, with its shape (for `--list` and docs). */
  readonly seen = new Map<string, number[]>();
  private readonly captureRes: RegExp[];
  private readonly edits: Array<{ re: RegExp; fn: EditFn }>;
  private readonly active: boolean;

  constructor(opts: HookOptions = {}, private readonly recordNames = false) {
    this.captureRes = (opts.capture ?? []).map(globToRegExp);
    this.edits = (opts.edits ?? []).map((e) => ({ re: globToRegExp(e.pattern), fn: e.fn }));
    this.active = this.captureRes.length > 0 || this.edits.length > 0 || recordNames;
  }

  /** Passes activation `x` named `name` through the edits, then the captures. */
  point<T extends tf.Tensor>(name: string, x: T): T {
    if (!this.active) return x;
    if (this.recordNames) this.seen.set(name, x.shape);
    let out: tf.Tensor = x;
    for (const e of this.edits) {
      if (!e.re.test(name)) continue;
      const replaced = e.fn(out, name);
      if (replaced === undefined) continue;
      if (!tf.util.arraysEqual(replaced.shape, out.shape)) {
        throw new Error(`hook edit for '${name}' returned shape [${replaced.shape}], expected [${out.shape}]`);
      }
      out = replaced;
    }
    if (this.captureRes.some((re) => re.test(name))) {
      // A batch can be run in pieces: keep the pieces and concatenate on the batch axis later.
      const prev = this.captured.get(name);
      const kept = tf.keep(prev === undefined ? out.clone() : tf.concat([prev, out], 0));
      prev?.dispose();
      this.captured.set(name, kept);
    }
    return out as T;
  }

  /** Releases every captured tensor. */
  dispose(): void {
    for (const t of this.captured.values()) t.dispose();
    this.captured.clear();
  }
}

/** The shared no-op instance used when a caller passes no hooks. */
export const NO_HOOKS = new Hooks();
