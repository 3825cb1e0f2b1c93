/**
 * `convertCheckpoint`: from an official checkpoint (PyTorch zip `.bin`/`.pt`, or open_clip safetensors) to
 * a model directory: `model.safetensors` (open_clip key names, PyTorch layouts), `open_clip_config.json`
 * and `vocab.txt`.
 *
 * Order matters for the "no partial output" promise: every input is read and validated first (config,
 * vocab, every key and shape); then the whole directory is built beside `--out` and swapped in only when
 * complete (src/util/atomic-dir.ts): a failure or a kill at any point leaves the previous model in `--out`
 * loading exactly as before, and the next run removes what a killed one left. `model.safetensors` is
 * streamed one tensor at a time and hashed as it is written; the digest goes into `fingerprint.json`, the
 * whole-file identity that search and index compare. Memory stays near one tensor (the largest, word
 * embeddings, is 94 MB in f32).
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { DEFAULT_CONFIG, parseOpenClipConfig, type ClipConfig } from '../model/config.js';
import { readJsonFile } from '../util/json-file.js';
import { fileDigest } from '../util/digest.js';
import { CONFIG_FILE, MODEL_DIR_FILES, VOCAB_FILE, WEIGHTS_FILE } from '../model-files.js';
import { writeFingerprint } from '../weights/fingerprint.js';
import { replaceDirectory } from '../util/atomic-dir.js';
import { describeNonFinite, findNonFinite } from '../util/finite.js';
import { progressBar } from '../util/progress.js';
import { F16_MAX, f32ToF16 } from '../weights/dtype.js';
import { SafetensorsWriter, type TensorSpec } from '../weights/writer.js';
import { planConversion, type ConversionPlan } from './plan.js';
import { openTensorSource, type TensorSource } from './source.js';

export interface ConvertOptions {
  checkpoint: string;
  outDir: string;
  /** open_clip_config.json path (default: the one beside the checkpoint, else BiomedCLIP's built-in config). */
  config?: string;
  /** vocab.txt path (default: the one beside the checkpoint, else none, with a note). */
  vocab?: string;
  /**
   * Storage type of model.safetensors (default f32). f16 halves the file; the loader widens it back to float32
   * exactly, so the model computes in f32 either way, on weights rounded once to f16 (docs/performance.md).
   */
  dtype?: 'f32' | 'f16';
  /** Copy NaN/Inf weights instead of refusing the checkpoint (the loader still refuses them by default). */
  allowNonfinite?: boolean;
  onNote?: (msg: string) => void;
  progress?: boolean;
}

export interface ConvertReport {
  tensors: number;
  parameters: number;
  dropped: string[];
  sourceSha256: string;
  /** sha256 of the written model.safetensors (also in DIR/fingerprint.json). */
  sha256: string;
  outFile: string;
  /** How the weights are stored, and the file's size in bytes (f16: about half of f32's). */
  dtype: 'f32' | 'f16';
  bytes: number;
}

export async function convertCheckpoint(opts: ConvertOptions): Promise<ConvertReport> {
  const note = opts.onNote ?? (() => undefined);
  const dtype = opts.dtype ?? 'f32';
  if (dtype !== 'f32' && dtype !== 'f16') throw new UserError(`--dtype ${String(dtype)}: expected f32 or f16`);
  const config = resolveConfig(opts, note);
  const vocab = resolveVocab(opts, config.cfg, note);
  const source = await openTensorSource(opts.checkpoint);
  try {
    const plan = planConversion(opts.checkpoint, source.tensors, config.cfg, config.name);
    plan.notes.forEach(note);
    const sourceSha256 = await fileDigest(opts.checkpoint, 'sha256');
    const metadata = provenance(opts.checkpoint, source.format, sourceSha256, dtype);
    await prepareParent(opts.outDir);
    const written = await replaceDirectory(
      opts.outDir,
      async (dir) => {
        if (config.text !== undefined) await fs.writeFile(path.join(dir, CONFIG_FILE), config.text);
        if (vocab !== undefined) await fs.writeFile(path.join(dir, VOCAB_FILE), vocab);
        const model = await writeModel(path.join(dir, WEIGHTS_FILE), source, plan, {
          dtype,
          metadata,
          showProgress: opts.progress === true,
          allowNonfinite: opts.allowNonfinite === true,
          checkpoint: opts.checkpoint,
          note,
        });
        await writeFingerprint(dir, model.sha256, metadata);
        return model;
      },
      { owned: MODEL_DIR_FILES, onNote: note },
    );
    const outFile = path.join(opts.outDir, WEIGHTS_FILE);
    const bytes = (await fs.stat(outFile)).size;
    return { tensors: plan.tensors.length, parameters: written.parameters, dropped: plan.dropped, sourceSha256, sha256: written.sha256, outFile, dtype, bytes };
  } finally {
    await source.close();
  }
}

interface ResolvedConfig {
  cfg: ClipConfig;
  /** How errors name it. */
  name: string;
  /** The file's text to copy into the model directory (none for the built-in config). */
  text?: string;
}

function resolveConfig(opts: ConvertOptions, note: (m: string) => void): ResolvedConfig {
  const beside = path.join(path.dirname(opts.checkpoint), CONFIG_FILE);
  const file = opts.config ?? (existsSync(beside) ? beside : undefined);
  if (file === undefined) {
    note(`no ${CONFIG_FILE} given or beside the checkpoint: checking against BiomedCLIP's built-in config`);
    return { cfg: DEFAULT_CONFIG, name: "BiomedCLIP's built-in config" };
  }
  const cfg = parseOpenClipConfig(readJsonFile(file, "pass the checkpoint's open_clip_config.json"), file); // UserError on unreadable or invalid files
  return { cfg, name: file, text: readFileSync(file, 'utf8') };
}

/**
 * The vocab must be UTF-8 text with one token per line and no more tokens than the word-embedding rows
 * (BiomedBERT's 28,895 lines fit its 30,522 rows; a longer vocab would index past the table).
 */
function resolveVocab(opts: ConvertOptions, cfg: ClipConfig, note: (m: string) => void): Uint8Array | undefined {
  const beside = path.join(path.dirname(opts.checkpoint), VOCAB_FILE);
  const file = opts.vocab ?? (existsSync(beside) ? beside : undefined);
  if (file === undefined) {
    note(`no ${VOCAB_FILE} given or beside the checkpoint: the model directory will embed images only; pass --vocab vocab.txt for text`);
    return undefined;
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new UserError(`--vocab ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'}); check the path`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UserError(`--vocab ${file}: not UTF-8 text; pass BiomedBERT's vocab.txt`);
  }
  const lines = text === '' ? 0 : (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n').length;
  if (lines === 0 || lines > cfg.text.vocabSize) {
    throw new UserError(`--vocab ${file}: ${lines} tokens for a ${cfg.text.vocabSize}-row embedding; pass the vocab.txt that matches the checkpoint`);
  }
  return bytes;
}

/** `--out` must be a directory or absent, in a parent directory that exists or can be created. */
async function prepareParent(dir: string): Promise<void> {
  const st = await fs.stat(dir).catch(() => undefined);
  if (st !== undefined && !st.isDirectory()) throw new UserError(`--out ${dir}: exists and is not a directory; choose another --out`);
  try {
    await fs.mkdir(path.dirname(path.resolve(dir)), { recursive: true });
  } catch (err) {
    throw new UserError(`--out ${dir}: cannot create its parent directory (${(err as NodeJS.ErrnoException).code ?? 'error'}); choose another --out`);
  }
}

/** NaN/Inf weights are refused (one NaN makes every output NaN) unless --allow-nonfinite asks to copy them. */
function checkFinite(values: Float32Array, name: string, opts: WriteOptions): void {
  const bad = findNonFinite(values);
  if (bad === undefined) return;
  if (!opts.allowNonfinite) {
    throw new UserError(
      `${opts.checkpoint}: tensor "${name}" has ${describeNonFinite(bad)}; the checkpoint is damaged: download it again (or pass --allow-nonfinite to convert it as it is)`,
    );
  }
  opts.note(
    `copied ${describeNonFinite(bad)} of tensor "${name}" (--allow-nonfinite): loading the model refuses them unless asked (\`biomedclip trace --allow-nonfinite\`)`,
  );
}

/**
 * float32 → float16 (rounded to nearest even, as torch's `.half()`), refusing any finite value beyond ±65504:
 * from 65520 up it would silently become Inf, and between the two it would be clamped to the largest f16.
 * NaN/Inf reach here only with --allow-nonfinite and stay what they were.
 */
function toF16(values: Float32Array, name: string, checkpoint: string): Uint16Array {
  for (let i = 0; i < values.length; i++) {
    if (Math.abs(values[i]) > F16_MAX && Number.isFinite(values[i])) {
      throw new UserError(`${checkpoint}: tensor "${name}" holds ${values[i]} (index ${i}), beyond float16's range of ±${F16_MAX}; convert with --dtype f32`);
    }
  }
  return f32ToF16(values);
}

/** The converter's own version, from package.json (dist/src/convert/ → repository root). */
function converterVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { name?: string; version?: string };
    return `${pkg.name ?? 'biomedclip-ts'} ${pkg.version ?? 'unknown'}`;
  } catch {
    return 'biomedclip-ts unknown';
  }
}

function provenance(checkpoint: string, format: TensorSource['format'], sha: string, dtype: string): Record<string, string> {
  return {
    format: 'pt', // what safetensors' own loaders expect for PyTorch-layout weights
    source_file: path.basename(checkpoint),
    source_format: format,
    source_sha256: sha,
    converter: converterVersion(),
    dtype,
  };
}

interface WriteOptions {
  dtype: 'f32' | 'f16';
  metadata: Record<string, string>;
  showProgress: boolean;
  allowNonfinite: boolean;
  /** The checkpoint's path, for messages. */
  checkpoint: string;
  note: (m: string) => void;
}

/** Streams every planned tensor into `outFile` (atomic); returns the parameter count and the file's sha256. */
async function writeModel(outFile: string, source: TensorSource, plan: ConversionPlan, opts: WriteOptions): Promise<{ parameters: number; sha256: string }> {
  const { dtype, metadata, showProgress } = opts;
  const specs: TensorSpec[] = plan.tensors.map((t) => ({ name: t.target, dtype: dtype === 'f16' ? 'F16' : 'F32', shape: t.shape }));
  const counts = plan.tensors.map((t) => t.shape.reduce((a, b) => a * b, 1));
  const total = counts.reduce((a, b) => a + b, 0);
  const bar = showProgress ? progressBar(`convert → ${outFile}`, total, 'parameters') : undefined;
  const writer = await SafetensorsWriter.create(outFile, specs, metadata);
  try {
    let done = 0;
    for (const [i, t] of plan.tensors.entries()) {
      const values = await source.readFloat32(t.source);
      checkFinite(values, t.source, opts);
      await writer.write(t.target, dtype === 'f16' ? toF16(values, t.source, opts.checkpoint) : values);
      done += counts[i];
      bar?.update(done);
    }
    await writer.commit();
  } catch (err) {
    await writer.abort();
    throw err;
  } finally {
    bar?.done();
  }
  return { parameters: total, sha256: writer.sha256 };
}
