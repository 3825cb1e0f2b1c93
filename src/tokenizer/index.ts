/**
 * BiomedCLIP's text tokenizer: the same ids as open_clip's HFTokenizer over BertTokenizerFast with the
 * BiomedBERT vocab, plus where in the original text each token came from. See docs/tokenizer.md.
 *
 *   const tok = WordPieceTokenizer.fromModelDir(dir);
 *   const { inputIds, attentionMask, offsets } = tok.encode(['adenocarcinoma histopathology'], { padTo: 'longest' });
 */
export { WordPieceTokenizer, DEFAULT_CONTEXT_LENGTH, type Encoding, type EncodeOptions } from './tokenizer.js';
export { cleanText } from './clean.js';
export { bertNormalizeText, type NormalizerOptions } from './normalize.js';
export { preTokenize, isBertPunctuation } from './pretokenize.js';
