/**
 * `biomedclip tokenize`: the ids BiomedCLIP's text tower would see for some texts, exactly as open_clip's
 * tokenizer makes them, plus the token strings (and, without --json, a readable table).
 */
import { UserError } from '../../errors.js';
import type { Command } from '../command.js';
import { intOption, MAX_TEXT_TOKENS, padToOption, parse } from '../args.js';
import { resolveModelDir } from '../../hub/model-dir.js';
import { BUNDLED_VOCAB } from '../../demo/demo-model.js';
import { DEFAULT_CONTEXT_LENGTH, type Encoding, WordPieceTokenizer } from '../../tokenizer/index.js';

const USAGE = `Usage: biomedclip tokenize [--model DIR | --vocab FILE] [--context-length N] [--pad-to N|longest]
                           [--json] [--] TEXT...

Tokenizes each TEXT the way open_clip does for BiomedCLIP: ftfy-style cleaning, HTML unescaping,
BERT normalization (lowercase, accents stripped), WordPiece, [CLS] ... [SEP], truncation and padding.

Options:
  --model DIR           model directory with vocab.txt or tokenizer.json (default: the downloaded model, else
                        the BiomedBERT vocab bundled in assets/)
  --demo                same as --model demo (the bundled vocab)
  --vocab FILE          a BERT vocab.txt or an HF tokenizer.json instead of a model directory
  --context-length N    truncate to N tokens including [CLS] and [SEP] (default ${DEFAULT_CONTEXT_LENGTH}, as open_clip;
                        at most ${MAX_TEXT_TOKENS}, the text tower's positions)
  --pad-to N|longest    pad every row to N tokens (2 to ${MAX_TEXT_TOKENS}) or to the longest row (default: the
                        context length)
  --json                print {"input_ids":[[...]],"attention_mask":[[...]],"tokens":[[...]]}
  -h, --help            show this help

Texts may be empty strings; put them after -- if one starts with a dash.

Examples:
  biomedclip tokenize --model ./biomedclip --json "a histopathology image of adenocarcinoma"
  biomedclip tokenize --vocab vocab.txt --pad-to longest --json -- "-80 °C storage" ""
  biomedclip tokenize --vocab tokenizer.json "Ki-67 index > 20%"`;

function loadTokenizer(model: string | undefined, vocab: string | undefined): WordPieceTokenizer {
  if (model !== undefined && vocab !== undefined) throw new UserError('pass either --model DIR or --vocab FILE, not both', 2);
  if (vocab !== undefined) {
    return vocab.endsWith('.json') ? WordPieceTokenizer.fromTokenizerJson(vocab) : WordPieceTokenizer.fromVocabFile(vocab);
  }
  // --model DIR if given (or the offline demo), else the model `biomedclip download` converted, else the
  // BiomedBERT vocab bundled in assets/ (the same file the hub serves).
  if (model === 'demo') return WordPieceTokenizer.fromVocabFile(BUNDLED_VOCAB);
  if (model !== undefined) return WordPieceTokenizer.fromModelDir(resolveModelDir(model));
  try {
    return WordPieceTokenizer.fromModelDir(resolveModelDir());
  } catch {
    return WordPieceTokenizer.fromVocabFile(BUNDLED_VOCAB);
  }
}

/** One line per text: each real token with its id, e.g. `[CLS]:2 adeno:1234 ##carcinoma:5678 [SEP]:3`. */
function table(texts: string[], enc: Encoding): string {
  return texts
    .map((text, i) => {
      const n = enc.attentionMask[i].reduce((a, b) => a + b, 0);
      const pieces = enc.tokens[i].slice(0, n).map((t, k) => `${t}:${enc.inputIds[i][k]}`);
      const pad = enc.inputIds[i].length - n;
      return `${JSON.stringify(text)}\n  ${pieces.join(' ')}${pad > 0 ? `  (+${pad} [PAD])` : ''}`;
    })
    .join('\n');
}

export const command: Command = {
  usage: USAGE,
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parse('tokenize', args, {
      allowPositionals: true,
      options: {
        model: { type: 'string' },
        demo: { type: 'boolean', default: false },
        vocab: { type: 'string' },
        'context-length': { type: 'string' },
        'pad-to': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    if (positionals.length === 0) throw new UserError('no TEXT given; usage: biomedclip tokenize [options] [--] TEXT...', 2);
    const contextLength = intOption('context-length', values['context-length'], 2, MAX_TEXT_TOKENS, "the text tower's positions") ?? DEFAULT_CONTEXT_LENGTH;
    const padTo = padToOption(values['pad-to']);
    const tok = loadTokenizer(values.model, values.vocab);
    const enc = tok.encode(positionals, { contextLength, padTo });
    if (values.json) {
      const out = { input_ids: enc.inputIds, attention_mask: enc.attentionMask, tokens: enc.tokens };
      process.stdout.write(JSON.stringify(out) + '\n');
    } else {
      process.stdout.write(table(positionals, enc) + '\n');
    }
    return 0;
  },
};
