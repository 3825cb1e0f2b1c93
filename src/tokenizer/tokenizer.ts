/**
 * The whole text → ids pipeline of open_clip's HFTokenizer over BertTokenizerFast, for BiomedCLIP:
 *
 *   clean (ftfy + html.unescape x2 + whitespace)   clean.ts
 *   split out special tokens written in the text    here: "[MASK]" typed in a caption is id 4, as in HF
 *   BertNormalizer                                  normalize.ts
 *   BertPreTokenizer                                pretokenize.ts
 *   WordPiece                                       wordpiece.ts
 *   [CLS] pieces [SEP], truncate, pad               here
 *
 * Every token keeps the span of the original string it came from, through all of those rewrites.
 */
import { UserError } from '../errors.js';
import { TOKENIZER_JSON_FILE, VOCAB_FILE } from '../model-files.js';
import { type Aligned, sliceAligned, spanOf } from './aligned.js';
import { cleanAligned } from './clean.js';
import { bertNormalize } from './normalize.js';
import { preTokenize } from './pretokenize.js';
import { firstExisting } from './files.js';
import { loadTokenizerJson, loadVocabTxt, parseVocabTxt, type VocabSpec } from './vocab.js';
import { WordPiece } from './wordpiece.js';

export interface Encoding {
  /** [batch][padded length] token ids. */
  inputIds: number[][];
  /** 1 for real tokens (including [CLS] and [SEP]), 0 for padding. */
  attentionMask: number[][];
  tokens: string[][];
  /** Span [start, end) of UTF-16 code units in the ORIGINAL text; null for [CLS], [SEP] and padding. */
  offsets: Array<Array<[number, number] | null>>;
}

export interface EncodeOptions {
  /** Truncate to this many tokens including [CLS] and [SEP] (open_clip's context_length, 256). */
  contextLength?: number;
  /** Pad every row to this length, or to the longest row; default: contextLength, as open_clip does. */
  padTo?: number | 'longest';
}

/** One text's tokens before [CLS]/[SEP], truncation and padding. */
interface RawTokens {
  ids: number[];
  offsets: Array<[number, number]>;
}

export const DEFAULT_CONTEXT_LENGTH = 256;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class WordPieceTokenizer {
  readonly vocabSize: number;
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  private readonly spec: VocabSpec;
  private readonly wordPiece: WordPiece;
  /** Matches any special token verbatim, longest first (HF's AddedVocabulary does leftmost-longest). */
  private readonly specialRe: RegExp | undefined;

  constructor(spec: VocabSpec) {
    this.spec = spec;
    this.vocabSize = spec.idToToken.length;
    const id = (t: string) => spec.vocab.get(t) as number; // vocab.ts guarantees the four exist
    this.padId = id('[PAD]');
    this.unkId = id(spec.unkToken);
    this.clsId = id('[CLS]');
    this.sepId = id('[SEP]');
    this.wordPiece = new WordPiece({
      vocab: spec.vocab,
      unkId: this.unkId,
      continuingSubwordPrefix: spec.continuingSubwordPrefix,
      maxInputCharsPerWord: spec.maxInputCharsPerWord,
    });
    const specials = [...spec.specialTokens].sort((a, b) => b.length - a.length).map(escapeRegExp);
    this.specialRe = specials.length > 0 ? new RegExp(specials.join('|'), 'g') : undefined;
  }

  /** From the text of a vocab.txt (the page fetches it); `name` names it in errors. */
  static fromVocabText(text: string, name = VOCAB_FILE): WordPieceTokenizer {
    return new WordPieceTokenizer(parseVocabTxt(text, name));
  }

  static fromVocabFile(file: string): WordPieceTokenizer {
    return new WordPieceTokenizer(loadVocabTxt(file));
  }

  static fromTokenizerJson(file: string): WordPieceTokenizer {
    return new WordPieceTokenizer(loadTokenizerJson(file));
  }

  /** DIR/vocab.txt, else DIR/tokenizer.json. */
  static fromModelDir(dir: string): WordPieceTokenizer {
    const file = firstExisting(dir, [VOCAB_FILE, TOKENIZER_JSON_FILE]);
    if (file?.endsWith(VOCAB_FILE)) return WordPieceTokenizer.fromVocabFile(file);
    if (file !== undefined) return WordPieceTokenizer.fromTokenizerJson(file);
    throw new UserError(
      `no tokenizer in ${dir}: neither vocab.txt nor tokenizer.json exists, and texts need one; put BiomedBERT's vocab.txt there (\`biomedclip convert CHECKPOINT --out ${dir} --vocab vocab.txt\` copies it; \`biomedclip download\` makes a complete model directory)`,
    );
  }

  /** Tokens of one text: special tokens written in it, and WordPiece pieces of everything between. */
  private rawTokens(text: string): RawTokens {
    const cleaned = cleanAligned(text);
    const out: RawTokens = { ids: [], offsets: [] };
    let pos = 0;
    if (this.specialRe !== undefined) {
      this.specialRe.lastIndex = 0;
      for (let m = this.specialRe.exec(cleaned.text); m !== null; m = this.specialRe.exec(cleaned.text)) {
        this.addPieces(sliceAligned(cleaned, pos, m.index), out);
        out.ids.push(this.spec.vocab.get(m[0]) as number);
        out.offsets.push(spanOf(cleaned, m.index, m.index + m[0].length));
        pos = m.index + m[0].length;
      }
    }
    this.addPieces(sliceAligned(cleaned, pos, cleaned.text.length), out);
    return out;
  }

  /** Normalize, pre-tokenize and WordPiece one stretch of cleaned text between special tokens. */
  private addPieces(segment: Aligned, out: RawTokens): void {
    if (segment.text.length === 0) return;
    const norm = bertNormalize(segment, this.spec.normalizer);
    for (const word of preTokenize(norm.text)) {
      for (const piece of this.wordPiece.split(norm.text.slice(word.start, word.end))) {
        out.ids.push(piece.id);
        out.offsets.push(spanOf(norm, word.start + piece.start, word.start + piece.end));
      }
    }
  }

  /** Tokenizes a batch like open_clip: [CLS] pieces [SEP], truncated to contextLength, padded. */
  encode(texts: string[], opts: EncodeOptions = {}): Encoding {
    const contextLength = opts.contextLength ?? DEFAULT_CONTEXT_LENGTH;
    if (!Number.isInteger(contextLength) || contextLength < 2) {
      throw new UserError(`context length must be an integer of at least 2 (room for [CLS] and [SEP]), got ${contextLength}`);
    }
    const rows = texts.map((t) => this.row(t, contextLength));
    const longest = rows.reduce((n, r) => Math.max(n, r.ids.length), 0);
    const padTo = opts.padTo ?? contextLength;
    const width = padTo === 'longest' ? longest : padTo;
    if (!Number.isInteger(width) || width < longest) {
      throw new UserError(`cannot pad to ${padTo}: the longest text has ${longest} tokens; use --pad-to longest or a larger N`);
    }
    const enc: Encoding = { inputIds: [], attentionMask: [], tokens: [], offsets: [] };
    const padToken = this.spec.idToToken[this.padId];
    for (const r of rows) {
      const n = r.ids.length;
      const ids = new Array<number>(width).fill(this.padId);
      const mask = new Array<number>(width).fill(0);
      const offsets = new Array<[number, number] | null>(width).fill(null);
      const tokens = new Array<string>(width).fill(padToken);
      for (let k = 0; k < n; k++) {
        ids[k] = r.ids[k];
        mask[k] = 1;
        offsets[k] = r.offsets[k];
        tokens[k] = this.spec.idToToken[r.ids[k]];
      }
      enc.inputIds.push(ids);
      enc.attentionMask.push(mask);
      enc.offsets.push(offsets);
      enc.tokens.push(tokens);
    }
    return enc;
  }

  /** [CLS] + at most contextLength-2 pieces + [SEP]: truncation keeps [SEP], as HF's does. */
  private row(text: string, contextLength: number): { ids: number[]; offsets: Array<[number, number] | null> } {
    const raw = this.rawTokens(text);
    const keep = contextLength - 2;
    return {
      ids: [this.clsId, ...raw.ids.slice(0, keep), this.sepId],
      offsets: [null, ...raw.offsets.slice(0, keep), null],
    };
  }

  /** Token strings of ids; an id outside the vocabulary is a UserError. */
  tokens(ids: number[]): string[] {
    return ids.map((id) => {
      const token = this.spec.idToToken[id];
      if (token === undefined) {
        throw new UserError(`token id ${id} is not in the vocabulary (ids 0..${this.vocabSize - 1}); check where the ids came from`);
      }
      return token;
    });
  }

  /**
   * Text of ids, as HF's WordPiece decoder writes it: pieces joined by spaces, "##" pieces glued to the
   * previous one, then its "cleanup" (" ." → "." and friends). [PAD], [CLS] and [SEP] are left out; [UNK]
   * and [MASK] stay so a reader sees them. Lowercasing and accent stripping are not undone.
   */
  decode(ids: number[]): string {
    const skip = new Set([this.padId, this.clsId, this.sepId]);
    const prefix = this.spec.continuingSubwordPrefix;
    let text = '';
    for (const token of this.tokens(ids.filter((id) => !skip.has(id)))) {
      if (text.length > 0 && token.startsWith(prefix)) text += token.slice(prefix.length);
      else text += (text.length > 0 ? ' ' : '') + token;
    }
    return cleanupSpaces(text);
  }
}

/** HF tokenizers' decoder cleanup (`cleanup: true` in tokenizer.json). */
function cleanupSpaces(s: string): string {
  return s
    .replaceAll(' .', '.').replaceAll(' ?', '?').replaceAll(' !', '!').replaceAll(' ,', ',')
    .replaceAll(" ' ", "'").replaceAll(" n't", "n't").replaceAll(" 'm", "'m").replaceAll(' do not', " don't")
    .replaceAll(" 's", "'s").replaceAll(" 've", "'ve").replaceAll(" 're", "'re"); // prettier-ignore
}
