/**
 * HF tokenizers' BertPreTokenizer: cut the normalized text into words before WordPiece sees it.
 *
 * Whitespace separates words and is dropped; every punctuation character becomes a word of its own. BERT's
 * "punctuation" is wider than Unicode's: all printable ASCII that is not a letter or digit counts, so
 * `$ + < = > ^ \` | ~` (Unicode symbols, not punctuation) split words too, as do all Unicode P* characters
 * (dashes, brackets, quotes, "·", "¿", "。"...). Symbols outside ASCII such as "°", "±", "µ" or "→" do NOT
 * split: "37°c" is one word for WordPiece.
 */

/** A word as a half-open range of UTF-16 code units in the normalized text. */
export interface WordSpan {
  start: number;
  end: number;
}

const UNICODE_PUNCT = /^\p{P}/u;
const WHITE_SPACE = /^\p{White_Space}/u;

/** ASCII 33-47, 58-64, 91-96, 123-126, or any Unicode punctuation category (Pc Pd Ps Pe Pi Pf Po). */
export function isBertPunctuation(cp: number, ch: string): boolean {
  if (cp < 0x80) return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
  return UNICODE_PUNCT.test(ch);
}

function isWhitespace(cp: number, ch: string): boolean {
  if (cp < 0x80) return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d);
  return WHITE_SPACE.test(ch);
}

/** Splits `text` into words: runs of non-space, non-punctuation characters, and single punctuation marks. */
export function preTokenize(text: string): WordSpan[] {
  const words: WordSpan[] = [];
  let wordStart = -1;
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i) as number;
    const width = cp > 0xffff ? 2 : 1;
    const ch = width === 1 ? text[i] : text.slice(i, i + 2);
    const space = isWhitespace(cp, ch);
    const punct = !space && isBertPunctuation(cp, ch);
    if ((space || punct) && wordStart >= 0) {
      words.push({ start: wordStart, end: i });
      wordStart = -1;
    }
    if (punct) words.push({ start: i, end: i + width });
    else if (!space && wordStart < 0) wordStart = i;
    i += width;
  }
  if (wordStart >= 0) words.push({ start: wordStart, end: text.length });
  return words;
}
