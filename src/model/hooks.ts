/**
 * Hook points: every named activation of both towers passes through `hooks.fire(point, x)`, where `point`
 * is the `HookPoint` its module declared and keeps as a field (module.ts).
 *
 * Names are PyTorch module paths (`visual.trunk.blocks.3.attn.qkv`): each module publishes its own output
 * (see module.ts), so a capture lines up with `register_forward_hook` in PyTorch. A few points are not
 * modules (`.scores`, `.probs`, `.context` of attention, `.resid_mid` of a ViT block); they are declared
 * beside the module that publishes them. A hook can
 *   - capture: keep a copy-free reference of the activation (`tf.keep`, disposed by `Hooks.dispose()`),
 *   - edit: return a replacement tensor (zero a head, patch in an activation from another run).
 * Edits are ordinary TF.js ops, so `tf.grad` flows through them. With no hooks, `fire` returns `x`
 * untouched after one boolean check: capturing nothing costs nothing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../errors.js';
import type { HookPoint } from './module.js';

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
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

export class Hooks {
  /** Captured activations by hook name, in forward order. Owned by this object until `dispose()`. */
  readonly captured = new Map<string, tf.Tensor>();
  /** With `recordNames`: every hook name the forward passed through, with its shape, in firing order. */
  readonly seen = new Map<string, number[]>();
  private readonly captureRes: RegExp[];
  private readonly edits: Array<{ re: RegExp; fn: EditFn }>;
  private readonly active: boolean;

  constructor(
    opts: HookOptions = {},
    private readonly recordNames = false,
  ) {
    this.captureRes = (opts.capture ?? []).map(globToRegExp);
    this.edits = (opts.edits ?? []).map((e) => ({ re: globToRegExp(e.pattern), fn: e.fn }));
    this.active = this.captureRes.length > 0 || this.edits.length > 0 || recordNames;
  }

  /** Passes activation `x`, published at `point`, through the edits matching its name, then the captures. */
  fire<T extends tf.Tensor>(point: HookPoint, x: T): T {
    if (!this.active) return x;
    const name = point.name;
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

/** The hook points of a tower that will not run on the given inputs, and how the user makes it run. */
export interface IdleTower {
  /** Its hook names (`hookPoints(model.text)`). */
  names: readonly string[];
  /** How messages name it: `image`, `text`. */
  tower: string;
  /** The input that runs it: `--image`, `--text`. */
  input: string;
}

/**
 * Throws a UserError for the first pattern that matches none of `names` (the hook points of the towers
 * that will run), naming the pattern and the closest existing names: a capture that captures nothing or an
 * ablation that ablates nothing must never pass silently. `idle` are the towers that will not run, so a
 * pattern that only names their points says which input is missing.
 */
export function checkPatterns(patterns: readonly string[], names: readonly string[], what: string, idle: readonly IdleTower[] = []): void {
  for (const pattern of patterns) {
    const re = globToRegExp(pattern);
    if (names.some((n) => re.test(n))) continue;
    const named = idle.find((t) => t.names.some((n) => re.test(n)));
    if (named !== undefined) {
      throw new UserError(
        `${what} '${pattern}' matches only hooks of the ${named.tower} tower, which does not run on these inputs; pass ${named.input} as well`,
        2,
      );
    }
    const closest = closestNames(pattern, [...names, ...idle.flatMap((t) => t.names)]);
    throw new UserError(`${what} '${pattern}' matches no hook point; closest: ${closest.join(', ')} (\`biomedclip summary\` lists them all)`, 2);
  }
}

/** The `n` names (or their every-index `*` forms) nearest to `pattern` by edit distance. */
export function closestNames(pattern: string, names: readonly string[], n = 3): string[] {
  const candidates = new Set<string>();
  for (const name of names) {
    candidates.add(name);
    candidates.add(name.replace(/\.\d+(?=\.|$)/g, '.*')); // blocks.3.attn -> blocks.*.attn
  }
  const scored = [...candidates].map((c) => ({ c, d: editDistance(pattern, c) }));
  return scored
    .sort((a, b) => a.d - b.d || a.c.length - b.c.length)
    .slice(0, n)
    .map((x) => x.c);
}

/** Levenshtein distance (insertions, deletions, substitutions), one row at a time. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}
