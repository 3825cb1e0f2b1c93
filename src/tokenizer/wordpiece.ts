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
  /** The longest vocabulary entry in code points: no match can be longer, so we never try one. */
  private readonly maxPieceChars: number;

  constructor(cfg: WordPieceConfig) {
    this.cfg = cfg;
    let longest = 1;
    for (const token of cfg.vocab.keys()) {
      const n = Array.from(token).length;
      if (n > longest) longest = n;
    }
    this.maxPieceChars = longest;
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
    for (let end = Math.min(n, start + this.maxPieceChars); end > start; end--) {
      const id = this.cfg.vocab.get(prefix + word.slice(offsets[start], offsets[end]));
      if (id !== undefined) return { id, end };
    }
    return undefined;
  }
}
