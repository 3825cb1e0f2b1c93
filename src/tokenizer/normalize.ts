/**
 * HF tokenizers' BertNormalizer, in the Rust order that BertTokenizerFast runs:
 *
 *   1. clean text: drop U+0000, U+FFFD and "other" characters (categories Cc, Cf, Co: controls, zero-width
 *      and bidi marks, private use), keeping \t \n \r, and turn every whitespace character into ' '
 *   2. put spaces around CJK ideographs, so each becomes its own word
 *   3. strip accents: NFD, then drop nonspacing marks (Mn)      [when strip_accents is unset: = lowercase]
 *   4. lowercase, one code point at a time
 *
 * Two details that make ids differ from the slow Python BertTokenizer (and from the JS oracle, see
 * docs/tokenizer.md): accents are stripped BEFORE lowercasing, and lowercasing is per character, so a
 * final capital sigma "Σ" becomes "σ", never the word-final "ς" that String.prototype.toLowerCase picks.
 */
import { type Aligned, AlignedBuilder, mapCodePoints } from './aligned.js';

export interface NormalizerOptions {
  cleanText: boolean;
  handleChineseChars: boolean;
  stripAccents: boolean;
  lowercase: boolean;
}

export const BERT_UNCASED: NormalizerOptions = {
  cleanText: true,
  handleChineseChars: true,
  stripAccents: true,
  lowercase: true,
};

/** Rust `char::is_other` as the unicode_categories crate defines it: Cc, Cf or Co (not Cn). */
const OTHER = /^[\p{Cc}\p{Cf}\p{Co}]/u;
/** Rust `char::is_whitespace`: the Unicode White_Space property. */
const WHITE_SPACE = /^\p{White_Space}/u;

function cleanChar(ch: string, cp: number): string {
  if (cp >= 0x21 && cp < 0x7f) return ch; // printable ASCII, the common case
  if (cp === 0x09 || cp === 0x0a || cp === 0x0d) return ' ';
  if (cp === 0 || cp === 0xfffd || OTHER.test(ch)) return '';
  return WHITE_SPACE.test(ch) ? ' ' : ch;
}

/** The CJK Unified Ideographs blocks BERT isolates (not Hangul, Hiragana or Katakana). */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) || (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f)
  ); // prettier-ignore
}

function padChinese(src: Aligned): Aligned {
  return mapCodePoints(src, (ch, cp) => (isChineseChar(cp) ? ` ${ch} ` : ch));
}

const NONSPACING_MARK = /\p{Mn}/gu;

/** NFD each character and drop its nonspacing marks: "é" → "e", "ﬁ" untouched (that is NFKD, not NFD). */
function stripAccents(src: Aligned): Aligned {
  return mapCodePoints(src, (ch, cp) => (cp < 0xc0 ? ch : ch.normalize('NFD').replace(NONSPACING_MARK, '')));
}

/** Per-code-point lowercase, as Rust's `char::to_lowercase` (İ → "i̇", Σ → "σ" always). */
function lowercase(src: Aligned): Aligned {
  return mapCodePoints(src, (ch, cp) => (cp < 0x41 || (cp > 0x5a && cp < 0xc0) ? ch : ch.toLowerCase()));
}

/** Runs BertNormalizer on aligned text. */
export function bertNormalize(src: Aligned, opts: NormalizerOptions = BERT_UNCASED): Aligned {
  let a = src;
  if (opts.cleanText) a = mapCodePoints(a, cleanChar);
  if (opts.handleChineseChars) a = padChinese(a);
  if (opts.stripAccents) a = stripAccents(a);
  if (opts.lowercase) a = lowercase(a);
  return a;
}

/** Plain-string form, for tests and teaching. */
export function bertNormalizeText(text: string, opts: NormalizerOptions = BERT_UNCASED): string {
  const b = new AlignedBuilder();
  b.push(text, 0, text.length);
  return bertNormalize(b.build(), opts).text;
}
