/**
 * `biomedclip download` as a library function: the three official files into the hub cache, then one
 * conversion into a model directory that embed/classify/trace can load.
 *
 * Files, in this order so a wrong revision or endpoint fails on a tiny file before the 784 MB one starts:
 *   1. open_clip_config.json        BiomedCLIP repo, --revision (default: pinned commit)
 *   2. vocab.txt                    BiomedBERT repo, its own pinned commit (open_clip takes the tokenizer
 *                                   from the text model's repo, `text_cfg.hf_tokenizer_name`)
 *   3. open_clip_pytorch_model.bin  BiomedCLIP repo, same revision as the config
 * The converter is injectable so the download logic is tested without it (and without torch files).
 */
import type { ConvertOptions, ConvertReport } from '../convert/convert.js';
import { hubDownload, type DownloadedFile, type DownloadFileOptions } from './download-file.js';
import { convertedDtype, convertedModelDir, hasConvertedModel } from './model-dir.js';
import { BIOMEDBERT_REVISION, BIOMEDBERT_VOCAB, BIOMEDCLIP_CHECKPOINT, BIOMEDCLIP_CONFIG, BIOMEDCLIP_REVISION, type HubFile } from './pins.js';
import { hubSettings, type Env } from './settings.js';

/** The converter's options and report are `convertCheckpoint`'s own (type-only: no runtime import). */
export type { ConvertOptions };
export type ConvertResult = ConvertReport;

export type Converter = (opts: ConvertOptions) => Promise<ConvertResult>;

export interface DownloadModelOptions {
  /** Revision of the BiomedCLIP repo: branch, tag or commit (default: the pinned commit). */
  revision?: string;
  /** Revision of the BiomedBERT repo that provides vocab.txt (default: its pinned commit). */
  textRevision?: string;
  /** Model directory to convert into (default: `$HF_HOME/biomedclip-ts/<commit>`). */
  outDir?: string;
  /** Hub URL (default: $HF_ENDPOINT, else https://huggingface.co). */
  endpoint?: string;
  env?: Env;
  /** Convert again even when the model directory already holds a model. */
  force?: boolean;
  /**
   * Storage type of the converted weights (the converter's default, f32, when absent). Asked for explicitly,
   * it also converts again a model directory that holds the other type.
   */
  dtype?: 'f32' | 'f16';
  progress?: boolean;
  /** The checkpoint converter (default: convertCheckpoint from src/convert/convert.ts). */
  convert?: Converter;
  onNote?: (message: string) => void;
  retries?: number;
  retryDelayMs?: number;
  timeoutMs?: number;
}

export interface DownloadModelResult {
  modelDir: string;
  revision: string;
  /** The BiomedCLIP commit the revision resolved to. */
  commit: string;
  files: DownloadedFile[];
  /** The converter's report, or null when the model directory already held a conversion. */
  conversion: ConvertResult | null;
}

export async function downloadModel(opts: DownloadModelOptions = {}): Promise<DownloadModelResult> {
  const settings = hubSettings({ endpoint: opts.endpoint, env: opts.env });
  const revision = opts.revision ?? BIOMEDCLIP_REVISION;
  const common: Omit<DownloadFileOptions, 'revision'> = {
    settings,
    retryCommand: retryCommand(opts),
    progress: opts.progress,
    retries: opts.retries,
    retryDelayMs: opts.retryDelayMs,
    timeoutMs: opts.timeoutMs,
    onNote: opts.onNote,
  };
  const fetchOne = (spec: HubFile, rev: string) => hubDownload(spec, { ...common, revision: rev, pin: pinOf(spec) });
  const config = await fetchOne(BIOMEDCLIP_CONFIG, revision);
  const vocab = await fetchOne(BIOMEDBERT_VOCAB, opts.textRevision ?? BIOMEDBERT_REVISION);
  const checkpoint = await fetchOne(BIOMEDCLIP_CHECKPOINT, revision);
  const files = [config, vocab, checkpoint];

  const modelDir = opts.outDir ?? convertedModelDir(checkpoint.commit, opts.env);
  if (hasConvertedModel(modelDir) && opts.force !== true) {
    const held = await convertedDtype(modelDir);
    if (opts.dtype === undefined || held === undefined || held === opts.dtype) {
      opts.onNote?.(`${modelDir} already holds a converted model${held === undefined ? '' : ` (${held})`}; pass --force to convert again`);
      return { modelDir, revision, commit: checkpoint.commit, files, conversion: null };
    }
    opts.onNote?.(`${modelDir} holds ${held} weights: converting again as ${opts.dtype} (--dtype ${opts.dtype})`);
  }
  const convert = opts.convert ?? defaultConverter;
  const conversion = await convert({
    checkpoint: checkpoint.path,
    outDir: modelDir,
    config: config.path,
    vocab: vocab.path,
    dtype: opts.dtype,
    onNote: opts.onNote,
    progress: opts.progress,
  });
  return { modelDir, revision, commit: checkpoint.commit, files, conversion };
}

/** The pinned sha256 applies only at the pinned commit; a file of another revision has only its ETag. */
function pinOf(spec: HubFile): { commit: string; sha256: string } | undefined {
  return spec.pinnedSha256 === undefined ? undefined : { commit: BIOMEDCLIP_REVISION, sha256: spec.pinnedSha256 };
}

/** The command a user reruns after an error: the same flags, so a resume continues the same files. */
function retryCommand(opts: DownloadModelOptions): string {
  const parts = ['biomedclip download'];
  if (opts.revision !== undefined) parts.push(`--revision ${opts.revision}`);
  if (opts.endpoint !== undefined) parts.push(`--endpoint ${opts.endpoint}`);
  if (opts.outDir !== undefined) parts.push(`--out ${opts.outDir}`);
  if (opts.dtype !== undefined) parts.push(`--dtype ${opts.dtype}`);
  return parts.join(' ');
}

/** Loads the converter lazily: `download --help` and a failed download never pay for loading it. */
async function defaultConverter(opts: ConvertOptions): Promise<ConvertResult> {
  const { convertCheckpoint } = await import('../convert/convert.js');
  return convertCheckpoint(opts);
}
