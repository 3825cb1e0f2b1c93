/**
 * `biomedclip download`: the official BiomedCLIP files from the Hugging Face hub, verified, cached the way
 * huggingface_hub caches them, then converted into the model directory that embed/classify use by default.
 */
import { UserError } from '../../errors.js';
import { downloadModel, type DownloadModelResult } from '../../hub/download-model.js';
import { BIOMEDBERT_REPO, BIOMEDBERT_REVISION, BIOMEDCLIP_REPO, BIOMEDCLIP_REVISION } from '../../hub/pins.js';
import type { Command } from '../command.js';
import { parse } from '../args.js';

const usage = `Usage: biomedclip download [--revision REV] [--out DIR] [--dtype f32|f16] [--endpoint URL] [--force] [--json]

Downloads the official BiomedCLIP weights from the Hugging Face hub and converts them to a model directory:
  open_clip_config.json, open_clip_pytorch_model.bin  from ${BIOMEDCLIP_REPO}
  vocab.txt                                           from ${BIOMEDBERT_REPO} @ ${BIOMEDBERT_REVISION.slice(0, 10)}
Files are cached in the hub cache ($HF_HOME/hub, default ~/.cache/huggingface/hub) and shared with Python's
huggingface_hub; every file is checked against the hub's sha256/ETag. An interrupted download resumes where
it stopped when you run the command again. embed and classify use the converted model when --model is omitted.

Options:
  --revision REV   branch, tag or commit of the BiomedCLIP repo (default: the pinned commit
                   ${BIOMEDCLIP_REVISION}, whose weights the reference numbers use)
  --out DIR        convert into DIR (default: $HF_HOME/biomedclip-ts/<commit>)
  --dtype f32|f16  storage type of the converted weights (default f32). f16 halves the model file (392 MB
                   instead of 784 MB; the download itself is the same .bin): weights are rounded once to
                   float16 and widened back exactly on load (see \`biomedclip convert --help\`). Given
                   explicitly, it converts again a model directory that holds the other type
  --endpoint URL   hub or mirror to use (default: $HF_ENDPOINT, else https://huggingface.co)
  --force          convert again even if the model directory already holds a model
  --json           print a machine-readable report on stdout

Environment:
  HF_HOME          cache root (default ~/.cache/huggingface); HF_HUB_CACHE overrides the hub cache alone
  HF_ENDPOINT      hub or mirror URL (--endpoint wins)
  HF_TOKEN         access token, sent to the hub only (never to the CDN it redirects to)

Examples:
  biomedclip download
  biomedclip download --out ./weights/biomedclip
  biomedclip download --dtype f16
  HF_ENDPOINT=https://hf-mirror.example.org biomedclip download
  biomedclip download --revision main --json`;

export const command: Command = {
  usage,
  async run(args: string[]): Promise<number> {
    const { values } = parse('download', args, {
      options: {
        revision: { type: 'string' },
        out: { type: 'string' },
        dtype: { type: 'string' },
        endpoint: { type: 'string' },
        force: { type: 'boolean' },
        json: { type: 'boolean' },
      },
    });
    const dtype = values.dtype;
    if (dtype !== undefined && dtype !== 'f32' && dtype !== 'f16') throw new UserError(`download: --dtype ${dtype}: expected f32 or f16`, 2);
    const json = values.json === true;
    const result = await downloadModel({
      revision: values.revision,
      outDir: values.out,
      endpoint: values.endpoint,
      force: values.force === true,
      dtype,
      progress: true, // bars draw on a terminal only (src/util/progress.ts)
      onNote: (m) => console.error(`biomedclip: note: ${m}`),
    });
    console.log(json ? JSON.stringify(report(result), null, 2) : summary(result));
    return 0;
  },
};

function report(result: DownloadModelResult) {
  return {
    modelDir: result.modelDir,
    revision: result.revision,
    commit: result.commit,
    converted: result.conversion !== null,
    conversion: result.conversion,
    files: result.files.map((f) => ({
      repo: f.repo,
      file: f.file,
      revision: f.revision,
      commit: f.commit,
      path: f.path,
      etag: f.etag ?? null,
      size: f.size ?? null,
      source: f.source,
      verified: f.verified,
    })),
  };
}

function summary(result: DownloadModelResult): string {
  const width = Math.max(...result.files.map((f) => f.file.length));
  const lines = result.files.map((f) => {
    const check = f.verified.length > 0 ? `verified: ${f.verified.join(', ')}` : 'from cache';
    return `${f.file.padEnd(width)}  ${f.source.padEnd(10)}  ${check}`;
  });
  const c = result.conversion;
  const model =
    c === null
      ? `model: ${result.modelDir} (already converted)`
      : `model: ${result.modelDir} (${c.tensors} tensors, ${c.parameters.toLocaleString('en-US')} parameters` +
        `${c.dropped.length > 0 ? `, dropped ${c.dropped.length}` : ''}, ${c.dtype}, ${(c.bytes / 1e6).toFixed(1)} MB)`;
  return [...lines, model, `commit: ${result.commit}`].join('\n');
}
