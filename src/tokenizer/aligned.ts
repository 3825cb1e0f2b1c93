/**
 * Text that remembers where each of its characters came from.
 *
 * Every cleaning and normalization step rewrites the string (entities decoded, accents stripped, spaces
 * collapsed), yet a viewer wants to highlight the words of the ORIGINAL caption that a token came from. So
 * each step works on an `Aligned`: the current text plus, for every UTF-16 code unit of it, the half-open
 * span [start, end) of original code units it was made from. A step that turns `&alpha;` into `α` gives `α`
 * the span of all seven input characters; a step that deletes a character simply drops its span. Because
 * spans always point into the original string, steps compose without keeping a chain of mappings.
 *
 * Offsets are UTF-16 code units (what `String.prototype.slice` takes), not Python code points.
 */

export interface Aligned {
  readonly text: string;
  /** starts[i], ends[i]: the original span behind text[i]; both halves of a surrogate pair share one span. */
  readonly starts: readonly number[];
  readonly ends: readonly number[];
}

/** The identity alignment: every character maps to itself (a surrogate pair maps to both its units). */
export function alignedFrom(text: string): Aligned {
  const starts: number[] = new Array<number>(text.length);
  const ends: number[] = new Array<number>(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const pairStart = c >= 0xd800 && c <= 0xdbff && isLow(text.charCodeAt(i + 1));
    const pairEnd = c >= 0xdc00 && c <= 0xdfff && i > 0 && isHigh(text.charCodeAt(i - 1));
    starts[i] = pairEnd ? i - 1 : i;
    ends[i] = pairStart ? i + 2 : i + 1;
  }
  return { text, starts, ends };
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Accumulates output text with a span per code unit. */
export class AlignedBuilder {
  private readonly parts: string[] = [];
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  /** Appends `s`, every code unit of which came from original span [start, end). */
  push(s: string, start: number, end: number): void {
    this.parts.push(s);
    for (let k = 0; k < s.length; k++) {
      this.starts.push(start);
      this.ends.push(end);
    }
  }

  /** Copies src.text[from, to) unchanged, keeping its spans. */
  copy(src: Aligned, from: number, to: number): void {
    if (to <= from) return;
    this.parts.push(src.text.slice(from, to));
    for (let k = from; k < to; k++) {
      this.starts.push(src.starts[k]);
      this.ends.push(src.ends[k]);
    }
  }

  build(): Aligned {
    return { text: this.parts.join(''), starts: this.starts, ends: this.ends };
  }
}

/** The original span covered by src.text[from, to): min start, max end (steps may reorder marks). */
export function spanOf(src: Aligned, from: number, to: number): [number, number] {
  let start = Infinity;
  let end = -Infinity;
  for (let k = from; k < to; k++) {
    if (src.starts[k] < start) start = src.starts[k];
    if (src.ends[k] > end) end = src.ends[k];
  }
  return [start, end];
}

/**
 * Replaces every match of the global regex `re` by `replace(match)`; a match replaced by itself keeps its
 * per-character spans, anything else gets the span of the whole match.
 */
export function replaceMatches(src: Aligned, re: RegExp, replace: (m: RegExpExecArray) => string): Aligned {
  re.lastIndex = 0;
  let m = re.exec(src.text);
  if (m === null) return src;
  const out = new AlignedBuilder();
  let pos = 0;
  for (; m !== null; m = re.exec(src.text)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    const end = m.index + m[0].length;
    const r = replace(m);
    out.copy(src, pos, m.index);
    if (r === m[0]) out.copy(src, m.index, end);
    else if (r.length > 0) out.push(r, ...spanOf(src, m.index, end));
    pos = end;
  }
  out.copy(src, pos, src.text.length);
  return out.build();
}

/** Rewrites each code point independently (`map` may return '' to delete or several characters). */
export function mapCodePoints(src: Aligned, map: (ch: string, cp: number) => string): Aligned {
  const text = src.text;
  // Nothing is allocated until the first character actually changes: most labels pass most steps as-is.
  let out: AlignedBuilder | undefined;
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i) as number;
    const width = cp > 0xffff ? 2 : 1;
    const ch = width === 1 ? text[i] : text.slice(i, i + 2);
    const r = map(ch, cp);
    if (r !== ch) {
      if (out === undefined) {
        out = new AlignedBuilder();
        out.copy(src, 0, i);
      }
      if (r.length > 0) out.push(r, ...spanOf(src, i, i + width));
    } else if (out !== undefined) out.copy(src, i, i + width);
    i += width;
  }
  return out === undefined ? src : out.build();
}

/** src.text[from, to) as its own Aligned (spans still point into the original). */
export function sliceAligned(src: Aligned, from: number, to: number): Aligned {
  return { text: src.text.slice(from, to), starts: src.starts.slice(from, to), ends: src.ends.slice(from, to) };
}

/** Concatenates aligned pieces. */
export function concatAligned(pieces: readonly Aligned[]): Aligned {
  if (pieces.length === 1) return pieces[0];
  const out = new AlignedBuilder();
  for (const p of pieces) out.copy(p, 0, p.text.length);
  return out.build();
}
