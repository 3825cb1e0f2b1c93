/**
 * The files of a model directory, named once: `convert` and `download` write them; loading, the tokenizer
 * and the index fingerprint read them. The names are the Hugging Face repositories' own, so the hub's files
 * need no renaming.
 */

/** The weights, open_clip key names and PyTorch layouts (docs/weights.md). */
export const WEIGHTS_FILE = 'model.safetensors';
/** open_clip's model config; BiomedCLIP's own is used when it is absent. */
export const CONFIG_FILE = 'open_clip_config.json';
/** BiomedBERT's WordPiece vocabulary, one token a line. */
export const VOCAB_FILE = 'vocab.txt';
/** The tokenizer as Hugging Face tokenizers saves it: read when there is no vocab.txt. */
export const TOKENIZER_JSON_FILE = 'tokenizer.json';
/** sha256 of the weights file, written at convert/download time (retrieval/fingerprint.ts). */
export const FINGERPRINT_FILE = 'fingerprint.json';

/** What a model directory is made of: replaced together, never carried over from the previous model. */
export const MODEL_DIR_FILES = [WEIGHTS_FILE, CONFIG_FILE, VOCAB_FILE, TOKENIZER_JSON_FILE, FINGERPRINT_FILE];

/**
 * Where model directories made in a checkout live (the demo model, local copies a user converts):
 * `weights/` beside `src/`. Downloads go to the Hugging Face cache instead (hub/model-dir.ts).
 */
export const CHECKOUT_MODELS_DIR = 'weights';
