/**
 * open_clip's text cleaning for HFTokenizer (`_whitespace_basic_clean`), run before BERT ever sees a text:
 *
 *   whitespace_clean(basic_clean(text))
 *   basic_clean      = ftfy.fix_text, then html.unescape twice, then strip
 *   whitespace_clean = collapse every whitespace run to one space, then strip
 *
 * ftfy 6 is a large heuristic library; this file reproduces the fixes that change text this model sees
 * (see docs/tokenizer.md for the exact list of what is and is not covered). ftfy works line by line, and
 * repeats its whole chain of fixes until the text stops changing, so `&amp;eacute;` ends up as `é`.
 * Everything keeps an alignment to the original string so tokens can point back at the words they came from.
 */
import { type Aligned, alignedFrom, concatAligned, mapCodePoints, replaceMatches, sliceAligned } from './aligned.js';
import { unescapeHtmlFtfy, unescapeHtmlPython } from './html.js';
import { fixMojibake, fixC1Controls } from './mojibake.js';
import { nfcAligned } from './nfc.js';

/** ftfy `fix_latin_ligatures`: Latin typographic ligatures and legacy digraphs, split into letters. */
const LIGATURES: ReadonlyMap<string, string> = new Map([
  ['Ĳ', 'IJ'], ['ĳ', 'ij'], ['ŉ', 'ʼn'], ['Ǳ', 'DZ'], ['ǲ', 'Dz'], ['ǳ', 'dz'], ['Ǆ', 'DŽ'], ['ǅ', 'Dž'],
  ['ǆ', 'dž'], ['Ǉ', 'LJ'], ['ǈ', 'Lj'], ['ǉ', 'lj'], ['Ǌ', 'NJ'], ['ǋ', 'Nj'], ['ǌ', 'nj'], ['ﬀ', 'ff'],
  ['ﬁ', 'fi'], ['ﬂ', 'fl'], ['ﬃ', 'ffi'], ['ﬄ', 'ffl'], ['ﬅ', 'ſt'], ['ﬆ', 'st'],
]); // prettier-ignore

/**
 * ftfy `fix_character_width`: full-width ASCII and half-width katakana/Hangul (U+FF01..U+FFEF) become their
 * NFKC form, and the ideographic space U+3000 becomes a plain space. Built the way ftfy builds it.
 */
function widthOf(cp: number, ch: string): string {
  if (cp === 0x3000) return ' ';
  if (cp < 0xff01 || cp > 0xffef) return ch;
  return ch.normalize('NFKC');
}

/**
 * ftfy `remove_control_chars`: C0 controls except \t \n \f \r, DEL, the deprecated Arabic format controls
 * U+206A..U+206F, the byte-order mark and the interlinear annotation marks U+FFF9..U+FFFC.
 * Zero-width joiners and bidi marks stay (BERT's own normalizer drops them later as format characters).
 */
function isFtfyControl(cp: number): boolean {
  return (
    cp <= 0x08 || cp === 0x0b || (cp >= 0x0e && cp <= 0x1f) || cp === 0x7f ||
    (cp >= 0x206a && cp <= 0x206f) || cp === 0xfeff || (cp >= 0xfff9 && cp <= 0xfffc)
  ); // prettier-ignore
}

/** One pass of ftfy's per-character fixes: ligatures, width, quotes, surrogates and controls. */
function fixCharacters(cp: number, ch: string): string {
  const lig = LIGATURES.get(ch);
  if (lig !== undefined) return lig;
  if (cp === 0x3000 || (cp >= 0xff01 && cp <= 0xffef)) return widthOf(cp, ch);
  // uncurl_quotes: ʼ and ‘ ’ ‚ ‛ → ', “ ” „ ‟ → "
  if (cp === 0x2bc || (cp >= 0x2018 && cp <= 0x201b)) return "'";
  if (cp >= 0x201c && cp <= 0x201f) return '"';
  // fix_surrogates: a lone UTF-16 surrogate (pairs were already joined by JavaScript) → U+FFFD.
  if (cp >= 0xd800 && cp <= 0xdfff) return '\ufffd';
  if (isFtfyControl(cp)) return '';
  return ch;
}

/** fix_line_breaks: CRLF, CR, LINE/PARAGRAPH SEPARATOR and NEXT LINE all become \n. */
const LINE_BREAKS = /\r\n|[\r\u2028\u2029\x85]/g;
/** remove_terminal_escapes: ANSI colour/cursor codes such as ESC[36;44m. */
const TERMINAL_ESCAPE = /\x1b\[[\d;]*[a-zA-Z]/g;

/** One round of ftfy's fix chain on one line, in ftfy 6's order. */
function ftfyRound(src: Aligned, unescape: boolean): Aligned {
  let a = unescape ? unescapeHtmlFtfy(src) : src;
  a = fixMojibake(a);
  a = fixC1Controls(a);
  a = replaceMatches(a, LINE_BREAKS, () => '\n');
  a = replaceMatches(a, TERMINAL_ESCAPE, () => '');
  a = mapCodePoints(a, (ch, cp) => fixCharacters(cp, ch));
  return nfcAligned(a);
}

/** ftfy fixes a segment until a round changes nothing (bounded, in case two fixes ever fight). */
function ftfySegment(src: Aligned, unescape: boolean): Aligned {
  let a = src;
  for (let round = 0; round < 16; round++) {
    const next = ftfyRound(a, unescape);
    if (next.text === a.text) return next;
    a = next;
  }
  return a;
}

/**
 * ftfy.fix_text: line by line (each line keeps its \n). Once a line contains '<' the text may be HTML, and
 * ftfy stops decoding entities for that line and every later one.
 */
export function ftfyFixText(src: Aligned): Aligned {
  const pieces: Aligned[] = [];
  let unescape = true;
  let pos = 0;
  while (pos < src.text.length) {
    const nl = src.text.indexOf('\n', pos);
    const end = nl < 0 ? src.text.length : nl + 1;
    const line = sliceAligned(src, pos, end);
    if (unescape && line.text.includes('<')) unescape = false;
    pieces.push(ftfySegment(line, unescape));
    pos = end;
  }
  return pieces.length === 0 ? src : concatAligned(pieces);
}

/** Python's str.isspace() characters, which `str.split()` / `re.sub(r'\s+')` treat as whitespace. */
const PY_SPACE_RUN = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/g;

/** strip() then collapse each whitespace run to one space (`whitespace_clean`). */
function collapseWhitespace(src: Aligned): Aligned {
  const a = replaceMatches(src, PY_SPACE_RUN, () => ' ');
  let from = 0;
  let to = a.text.length;
  if (a.text[0] === ' ') from = 1;
  if (to > from && a.text[to - 1] === ' ') to--;
  return from === 0 && to === a.text.length ? a : sliceAligned(a, from, to);
}

/** Printable ASCII without entities: nothing but whitespace collapsing can change it. */
const PLAIN = /^[\x20-\x25\x27-\x7e]*$/;

/** open_clip's full cleaning, keeping the alignment of every output character to `text`. */
export function cleanAligned(text: string): Aligned {
  const original = alignedFrom(text);
  if (PLAIN.test(text)) return collapseWhitespace(original);
  let a = ftfyFixText(original);
  a = unescapeHtmlPython(unescapeHtmlPython(a));
  return collapseWhitespace(a);
}

/** open_clip's cleaning step as a plain string: ftfy + html.unescape twice + strip + whitespace collapse. */
export function cleanText(text: string): string {
  return cleanAligned(text).text;
}
