/**
 * Loading a WordPiece vocabulary from BERT's `vocab.txt` or from an HF `tokenizer.json`, and refusing
 * broken ones with one clear line.
 *
 * `vocab.txt` is one token per line, id = line number from 0. BiomedBERT's has 28,895 lines although the
 * model's embedding has 30,522 rows: the last 1,627 rows are simply never produced by the tokenizer, so any
 * vocabulary size is accepted. Duplicates are an error here (Python's `load_vocab` would silently let the
 * later line win, so two lines would share one id and decoding would lie).
 */
import { UserError } from '../errors.js';
import { readTextFile } from './files.js';
import { BERT_UNCASED, type NormalizerOptions } from './normalize.js';

/** Everything the tokenizer needs, whichever file it came from. */
export interface VocabSpec {
  /** token → id, as WordPiece matches against it. */
  vocab: Map<string, number>;
  /** id → token (dense: ids are 0..n-1). */
  idToToken: string[];
  /** Tokens matched verbatim in the cleaned text before normalization ([CLS], [MASK], ...). */
  specialTokens: string[];
  unkToken: string;
  continuingSubwordPrefix: string;
  maxInputCharsPerWord: number;
  normalizer: NormalizerOptions;
}

/** BERT's special tokens; WordPiece cannot work without the first four. [MASK] is optional. */
const REQUIRED_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]'];
const OPTIONAL_SPECIALS = ['[MASK]'];
export const FIX = 'use the files of the model (biomedclip download) or pass --vocab with a BERT vocab.txt';

/** The file's text without a byte-order mark; an empty file is refused. */
function checkedText(text: string, path: string, what: string): string {
  if (text.trim().length === 0) throw new UserError(`${what} ${path} is empty; ${FIX}`);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function checkSpecials(vocab: Map<string, number>, path: string): string[] {
  const missing = REQUIRED_SPECIALS.filter((t) => !vocab.has(t));
  if (missing.length > 0) throw new UserError(`vocab ${path} lacks the special token(s) ${missing.join(' ')}; ${FIX}`);
  return [...REQUIRED_SPECIALS, ...OPTIONAL_SPECIALS.filter((t) => vocab.has(t))];
}

/** Reads and parses BERT's vocab.txt. */
export function loadVocabTxt(path: string): VocabSpec {
  return parseVocabTxt(readTextFile(path, 'vocab file', FIX), path);
}

/** Parses the text of BERT's vocab.txt (BiomedBERT is uncased: lowercase + strip accents); `path` names it in errors. */
export function parseVocabTxt(text: string, path: string): VocabSpec {
  const lines = checkedText(text, path, 'vocab file').split('\n');
  if (lines[lines.length - 1] === '') lines.pop(); // the final newline ends the last line, it adds no token
  const vocab = new Map<string, number>();
  const idToToken: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const token = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (token.length === 0) throw new UserError(`vocab ${path} line ${i + 1} is empty; ${FIX}`);
    const prev = vocab.get(token);
    if (prev !== undefined) {
      throw new UserError(`vocab ${path} has the token ${JSON.stringify(token)} twice (lines ${prev + 1} and ${i + 1}); ${FIX}`);
    }
    vocab.set(token, i);
    idToToken.push(token);
  }
  const specialTokens = checkSpecials(vocab, path);
  return {
    vocab,
    idToToken,
    specialTokens,
    unkToken: '[UNK]',
    continuingSubwordPrefix: '##',
    maxInputCharsPerWord: 100,
    normalizer: { ...BERT_UNCASED },
  };
}

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number>; unk_token?: string; continuing_subword_prefix?: string; max_input_chars_per_word?: number };
  normalizer?: { type?: string; clean_text?: boolean; handle_chinese_chars?: boolean; strip_accents?: boolean | null; lowercase?: boolean } | null;
  pre_tokenizer?: { type?: string } | null;
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
}

function parseJson(text: string, path: string): TokenizerJson {
  try {
    return JSON.parse(checkedText(text, path, 'tokenizer file')) as TokenizerJson;
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`tokenizer file ${path} is not valid JSON (${(err as Error).message}); ${FIX}`);
  }
}

/** The BertNormalizer flags; strip_accents null means "same as lowercase", as in HF tokenizers. */
function normalizerFrom(json: TokenizerJson, path: string): NormalizerOptions {
  const n = json.normalizer;
  if (!n || n.type !== 'BertNormalizer') {
    throw new UserError(`tokenizer file ${path} has normalizer ${n?.type ?? 'none'}, only BertNormalizer is supported; ${FIX}`);
  }
  const lowercase = n.lowercase ?? true;
  return {
    cleanText: n.clean_text ?? true,
    handleChineseChars: n.handle_chinese_chars ?? true,
    stripAccents: n.strip_accents ?? lowercase,
    lowercase,
  };
}

/** Dense id → token table; refuses gaps and ids shared by two tokens. */
function invert(vocab: Map<string, number>, path: string): string[] {
  const idToToken: string[] = new Array<string>(vocab.size);
  for (const [token, id] of vocab) {
    if (!Number.isInteger(id) || id < 0 || id >= vocab.size) {
      throw new UserError(`tokenizer file ${path}: token ${JSON.stringify(token)} has id ${id}, outside 0..${vocab.size - 1}; ${FIX}`);
    }
    if (idToToken[id] !== undefined) {
      throw new UserError(`tokenizer file ${path}: id ${id} is used by both ${JSON.stringify(idToToken[id])} and ${JSON.stringify(token)}; ${FIX}`);
    }
    idToToken[id] = token;
  }
  return idToToken;
}

/** Parses an HF tokenizer.json whose model is WordPiece with Bert normalizer and pre-tokenizer. */
export function loadTokenizerJson(path: string): VocabSpec {
  return parseTokenizerJson(readTextFile(path, 'tokenizer file', FIX), path);
}

/** Parses the text of an HF tokenizer.json; `path` names it in errors. */
export function parseTokenizerJson(text: string, path: string): VocabSpec {
  const json = parseJson(text, path);
  const model = json.model;
  if (!model || model.type !== 'WordPiece' || typeof model.vocab !== 'object' || model.vocab === null) {
    throw new UserError(`tokenizer file ${path} has no WordPiece model (found ${model?.type ?? 'none'}); ${FIX}`);
  }
  if (json.pre_tokenizer?.type !== 'BertPreTokenizer') {
    throw new UserError(`tokenizer file ${path} has pre_tokenizer ${json.pre_tokenizer?.type ?? 'none'}, only BertPreTokenizer is supported; ${FIX}`);
  }
  const vocab = new Map(Object.entries(model.vocab));
  if (vocab.size === 0) throw new UserError(`tokenizer file ${path} has an empty vocab; ${FIX}`);
  const idToToken = invert(vocab, path);
  for (const added of json.added_tokens ?? []) {
    if (vocab.get(added.content) !== added.id) {
      throw new UserError(
        `tokenizer file ${path}: added token ${JSON.stringify(added.content)} has id ${added.id} but the vocab says ${vocab.get(added.content)}; ${FIX}`,
      );
    }
  }
  checkSpecials(vocab, path);
  const unkToken = model.unk_token ?? '[UNK]';
  if (!vocab.has(unkToken)) throw new UserError(`tokenizer file ${path}: unk_token ${unkToken} is not in the vocab; ${FIX}`);
  return {
    vocab,
    idToToken,
    specialTokens: (json.added_tokens ?? []).filter((t) => t.special !== false).map((t) => t.content),
    unkToken,
    continuingSubwordPrefix: model.continuing_subword_prefix ?? '##',
    maxInputCharsPerWord: model.max_input_chars_per_word ?? 100,
    normalizer: normalizerFrom(json, path),
  };
}
