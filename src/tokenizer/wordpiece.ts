/**
 * WordPiece: split one word into vocabulary pieces by greedy longest match.
 *
 * From the start of the word, take the longest prefix that is in the vocabulary; then from where it ended,
 * the longest "##"-prefixed continuation; and so on. "pneumothorax" might become
 * ["pneumo", "##thorax"]. If at some point no piece matches, the WHOLE word becomes [UNK] (not just the
 * stuck part), and a word longer than `maxInputCharsPerWord` (100 code points) is [UNK] without trying.
 * Greedy longest-first is not the segmentation with the fewest pieces, but it is what BERT was trained on.
 */

export interface WordPieceConfig {
  vocab: ReadonlyMap<string, number>;
  unkId: number;
  continuingSubwordPrefix: string;
  maxInputCharsPerWord: number;
}

/** One piece: its id and its code-unit range inside the word. */
export interface Piece {
  id: number;
  start: number;
  end: number;
}

export class WordPiece {
  private readonly cfg: WordPieceConfig;
  /** The longest word-initial and "##" entries in code points: no match can be longer, so we never try one. */
  private readonly maxFirstChars: number;
  private readonly maxContinuationChars: number;

  constructor(cfg: WordPieceConfig) {
    this.cfg = cfg;
    const prefix = cfg.continuingSubwordPrefix;
    let first = 1;
    let cont = 1;
    for (const token of cfg.vocab.keys()) {
      // A token starting with the prefix can match in both places (as "##x" mid-word, and literally).
      const n = Array.from(token).length;
      if (n > first) first = n;
      if (token.startsWith(prefix) && n - Array.from(prefix).length > cont) cont = n - Array.from(prefix).length;
    }
    this.maxFirstChars = first;
    this.maxContinuationChars = cont;
  }

  /** Pieces of `word`, or one [UNK] spanning it. Ranges are UTF-16 code units within `word`. */
  split(word: string): Piece[] {
    const chars = Array.from(word);
    if (chars.length > this.cfg.maxInputCharsPerWord) return [{ id: this.cfg.unkId, start: 0, end: word.length }];
    // offsets[k] = code-unit index where code point k starts (offsets[chars.length] = word.length)
    const offsets = new Array<number>(chars.length + 1);
    offsets[0] = 0;
    for (let k = 0; k < chars.length; k++) offsets[k + 1] = offsets[k] + chars[k].length;
    const pieces: Piece[] = [];
    let start = 0;
    while (start < chars.length) {
      const found = this.longestMatch(word, offsets, start, chars.length);
      if (found === undefined) return [{ id: this.cfg.unkId, start: 0, end: word.length }];
      pieces.push({ id: found.id, start: offsets[start], end: offsets[found.end] });
      start = found.end;
    }
    return pieces;
  }

  /** Longest vocabulary piece starting at code point `start`: its id and end code point. */
  private longestMatch(word: string, offsets: number[], start: number, n: number) {
    const prefix = start > 0 ? this.cfg.continuingSubwordPrefix : '';
    const longest = start > 0 ? this.maxContinuationChars : this.maxFirstChars;
    for (let end = Math.min(n, start + longest); end > start; end--) {
      const id = this.cfg.vocab.get(prefix + word.slice(offsets[start], offsets[end]));
      if (id !== undefined) return { id, end };
    }
    return undefined;
  }
}
