/**
 * How inputs are cut into forward passes of bounded size, so that memory does not grow with their number
 * or length, and how errors name an input of a batch. Used by the facade (biomedclip.ts) for images and
 * texts, and by the commands that take a --batch-size.
 */
import { UserError } from '../errors.js';
import type { ImageInput } from '../image/index.js';
import type { HostIds } from './embed.js';

/**
 * The most images or texts one forward pass takes, whatever a caller asks: activation memory grows with the
 * batch (a text batch holds batch × 12 × T² attention scores per layer: 1,000 texts of 256 tokens, 3 GB).
 */
export const MAX_BATCH = 256;
/** Texts per forward pass by default (short ones: 32 labels of ~20 tokens). */
export const DEFAULT_TEXT_BATCH = 32;
/**
 * Tokens per text batch once padded, whatever the batch size asked: 8 texts of 256 tokens. Each transformer
 * block keeps its intermediates until it ends (one tf.tidy per block), about fifteen [tokens, 768] and
 * [tokens, 3072] activations plus [texts, 12, T, T] attention maps; at full size 32 texts of 256 tokens took
 * ~2 GB of activations on top of the 784 MB of weights, 2,048 tokens take ~300 MB.
 */
export const MAX_BATCH_TOKENS = 2048;

/** A batch size option: an integer from 1 to MAX_BATCH. */
export function batchSize(value: number | undefined, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > MAX_BATCH) throw new UserError(`batch size ${value}: expected an integer from 1 to ${MAX_BATCH}`, 2);
  return n;
}

/**
 * Indices of texts in batches of at most `size` texts and MAX_BATCH_TOKENS padded tokens, from each text's
 * token count (`lengths`, before truncation to `context`). Padded to the longest, texts go shortest first,
 * so each batch is padded to its last text and little compute goes to padding; padded to a fixed length,
 * they keep their order.
 */
export function textBatches(lengths: number[], padTo: number | 'longest', context: number, size: number): number[][] {
  const width = (i: number) => (padTo === 'longest' ? Math.min(lengths[i], context) : context); // tokens once padded
  const order = lengths.map((_, i) => i);
  if (padTo === 'longest') order.sort((a, b) => width(a) - width(b) || a - b);
  const batches: number[][] = [];
  let batch: number[] = [];
  for (const i of order) {
    if (batch.length > 0 && (batch.length === size || (batch.length + 1) * width(i) > MAX_BATCH_TOKENS)) {
      batches.push(batch);
      batch = [];
    }
    batch.push(i);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** How errors name an input: its path, else its kind and position. */
export function inputName(input: ImageInput, index: number): string {
  if (typeof input === 'string') return input;
  return input instanceof Uint8Array ? `<image bytes #${index + 1}>` : `<raw image #${index + 1}>`;
}

/** How errors name a text: its first 60 characters, quoted. */
export function textName(text: string): string {
  return `text ${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)}`;
}

/** Names for the rows of a batch whose inputs have none of their own. */
export function rowNames(kind: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${kind} #${i + 1} of the batch`);
}

/** Token-id rows of equal length as a host tensor [N, T]. */
export function idsTensor(rows: number[][]): HostIds {
  return { shape: [rows.length, rows[0].length], data: Int32Array.from(rows.flat()) };
}
