/**
 * What produced a number: every evaluation result carries the model (its directory and weight
 * fingerprint, and a warning when it is the random-weight demo), the preprocessing and, for zero-shot
 * classification, the templates. A table copied out of context still says what it measured.
 */
import { DEMO_LABEL } from '../demo/demo-model.js';
import type { PreprocessConfig } from '../image/index.js';
import { resolveDecoder } from '../image/preprocess.js';
import type { IndexModel } from '../retrieval/index-store.js';

/** What provenance reads from a model (the `BiomedCLIP` facade has it): whether it is the demo, its preprocessing. */
export interface DescribedModel {
  readonly isDemo: boolean;
  readonly config: { readonly preprocess: PreprocessConfig };
}

export interface ModelInfo {
  dir: string;
  fingerprint: string;
  demo: boolean;
  /** DEMO_LABEL for the demo model, absent for real weights. */
  warning?: string;
}

export interface PreprocessingInfo {
  resize: string;
  crop: string;
  mean: number[];
  std: number[];
  /** 'sharp' (exact to Pillow) or 'js' (JPEG a few levels off; docs/image.md). */
  decoder: string;
}

export function modelInfo(clip: Pick<DescribedModel, 'isDemo'>, model: IndexModel): ModelInfo {
  return { dir: model.dir, fingerprint: model.fingerprint, demo: clip.isDemo, ...(clip.isDemo ? { warning: DEMO_LABEL } : {}) };
}

/** open_clip's eval transform as this run applied it. */
export async function preprocessingInfo(clip: Pick<DescribedModel, 'config'>): Promise<PreprocessingInfo> {
  const p = clip.config.preprocess;
  return {
    resize: `shorter side to ${p.imageSize}, bicubic (Pillow's)`,
    crop: `center ${p.imageSize}x${p.imageSize}`,
    mean: [...p.mean],
    std: [...p.std],
    decoder: await resolveDecoder('auto'),
  };
}

/** The lines that head a text or Markdown report. */
export function provenanceLines(r: {
  model: ModelInfo;
  preprocessing: PreprocessingInfo;
  n: number;
  templates?: { source: string; templates: string[] };
}): string[] {
  const model = r.model.demo ? `${r.model.warning} (${r.model.dir})` : `${r.model.dir} (${r.model.fingerprint})`;
  const pre = r.preprocessing;
  const lines = [`model: ${model}`];
  if (r.templates) lines.push(`templates: ${r.templates.source}: ${r.templates.templates.map((t) => JSON.stringify(t)).join(', ')}`);
  lines.push(`preprocessing: ${pre.resize}, ${pre.crop}, mean ${pre.mean.join('/')}, std ${pre.std.join('/')}, decoder ${pre.decoder}`);
  lines.push(`n: ${r.n}`);
  return lines;
}
