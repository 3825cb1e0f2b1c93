/**
 * `biomedclip convert`: a PyTorch checkpoint (or open_clip safetensors) to a model directory, with nothing
 * but Node. The checkpoint's pickle is read by a restricted reader that runs no code.
 */
import { UserError } from '../../errors.js';
import { convertCheckpoint, type ConvertReport } from '../../convert/convert.js';
import type { Command } from '../command.js';
import { parse } from '../args.js';

const usage = `Usage: biomedclip convert CHECKPOINT --out DIR [--config open_clip_config.json] [--vocab vocab.txt]
                          [--dtype f32|f16] [--allow-nonfinite] [--json]

Converts BiomedCLIP weights into a model directory for embed, classify and trace:
  DIR/model.safetensors      the weights (open_clip key names, PyTorch layouts)
  DIR/open_clip_config.json  copied from --config
  DIR/vocab.txt              copied from --vocab
  DIR/fingerprint.json       sha256 of the whole weights file and its provenance (index/search compare it)
The directory is built beside DIR and swapped in only when complete: a failed or killed run leaves the
previous model in DIR loading as before (other files in DIR are kept), and the next run removes what a
killed one left.
CHECKPOINT is a torch.save file (.bin/.pt, zip format of torch >= 1.6) or an open_clip .safetensors file.
The pickle inside a .bin is read by a restricted reader that understands only state dicts and never runs
code: any other Python global is refused by name. Every key and shape is checked against the config before
anything is written; a "module." prefix is stripped, and position_ids/pooler tensors are dropped with a note.
The source's sha256 and the converter version are recorded in the file's __metadata__.

Options:
  --out DIR        model directory to write (created if missing)
  --config FILE    the checkpoint's open_clip_config.json (default: the one beside CHECKPOINT, else
                   BiomedCLIP's built-in config)
  --vocab FILE     BiomedBERT's vocab.txt (default: the one beside CHECKPOINT; without it, text embedding
                   will not work from DIR)
  --dtype f32|f16  storage type of the weights (default f32). f16 halves the file (392 MB instead of
                   784 MB for BiomedCLIP): each weight is rounded once to the nearest float16, as torch's
                   .half() does, and widened back exactly on load, so computations stay f32 (features
                   move by about 0.1 %; docs/performance.md). A weight beyond float16's ±65504 is an
                   error naming it (convert with f32 then), never a silent Inf
  --allow-nonfinite  copy NaN/Inf weights instead of refusing the checkpoint (the model then loads only
                   with \`trace --allow-nonfinite\`, to find where it goes wrong)
  --json           print a machine-readable report on stdout

Examples:
  biomedclip convert open_clip_pytorch_model.bin --out weights/biomedclip \\
      --config open_clip_config.json --vocab vocab.txt
  biomedclip convert checkpoint.pt --out weights/small --dtype f16 --json`;

export const command: Command = {
  usage,
  async run(args: string[]): Promise<number> {
    const { values, positionals } = parse('convert', args, {
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        config: { type: 'string' },
        vocab: { type: 'string' },
        dtype: { type: 'string' },
        json: { type: 'boolean' },
        'allow-nonfinite': { type: 'boolean' },
      },
    });
    if (positionals.length !== 1) {
      throw new UserError(`convert: expected one CHECKPOINT, got ${positionals.length}; see \`biomedclip convert --help\``, 2);
    }
    if (values.out === undefined) throw new UserError('convert: --out DIR is required; see `biomedclip convert --help`', 2);
    const dtype = values.dtype ?? 'f32';
    if (dtype !== 'f32' && dtype !== 'f16') throw new UserError(`convert: --dtype ${dtype}: expected f32 or f16`, 2);
    const json = values.json === true;
    const result = await convertCheckpoint({
      checkpoint: positionals[0],
      outDir: values.out,
      config: values.config,
      vocab: values.vocab,
      dtype,
      allowNonfinite: values['allow-nonfinite'] === true,
      onNote: (m) => console.error(`biomedclip: note: ${m}`),
      progress: !json,
    });
    console.log(json ? JSON.stringify(result, null, 2) : summary(result));
    return 0;
  },
};

function summary(r: ConvertReport): string {
  const dropped = r.dropped.length > 0 ? `, dropped ${r.dropped.length} unused` : '';
  return [
    `wrote ${r.outFile}: ${r.tensors} tensors, ${r.parameters.toLocaleString('en-US')} parameters${dropped}, ${r.dtype} (${megabytes(r.bytes)})`,
    `source sha256: ${r.sourceSha256}`,
    `model sha256:  ${r.sha256}`,
  ].join('\n');
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
