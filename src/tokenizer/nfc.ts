/**
 * Unicode NFC (ftfy's last step) with alignment kept.
 *
 * NFC composes a base letter with the combining marks after it ("e" + U+0301 → "é") and swaps a few
 * singletons for their canonical twins (U+212B ANGSTROM SIGN → "Å"). Composition never reaches across a
 * character that is neither a mark nor a Hangul vowel/final jamo, so we cut the text before each such
 * character, normalize the pieces separately, and give every output character its piece's span. If that
 * ever disagrees with normalizing the whole string at once, we fall back to the whole string with the
 * coarse span (an approximation documented in docs/tokenizer.md).
 */
import { type Aligned, AlignedBuilder, spanOf } from './aligned.js';

/** Characters that can join the character before them under NFC. */
const JOINS_PREVIOUS = /^[\p{M}\u1160-\u11ff\ud7b0-\ud7ff]/u;

/** Start index of each composition cluster in `text` (a starter plus its marks / jamo). */
function clusterStarts(text: string): number[] {
  const starts: number[] = [];
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i) as number;
    const width = cp > 0xffff ? 2 : 1;
    if (starts.length === 0 || !JOINS_PREVIOUS.test(text.slice(i, i + width))) starts.push(i);
    i += width;
  }
  return starts;
}

export function nfcAligned(src: Aligned): Aligned {
  const text = src.text;
  const whole = text.normalize('NFC');
  if (whole === text) return src;
  const starts = clusterStarts(text);
  const out = new AlignedBuilder();
  for (let c = 0; c < starts.length; c++) {
    const from = starts[c];
    const to = c + 1 < starts.length ? starts[c + 1] : text.length;
    const piece = text.slice(from, to);
    const norm = piece.normalize('NFC');
    if (norm === piece) out.copy(src, from, to);
    else out.push(norm, ...spanOf(src, from, to));
  }
  const built = out.build();
  if (built.text === whole) return built;
  const coarse = new AlignedBuilder();
  coarse.push(whole, ...spanOf(src, 0, text.length));
  return coarse.build();
}
