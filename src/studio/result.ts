/**
 * What the explorer computes for an image and its texts, in the CLI's own shapes, so a result saved from
 * the page can be compared with the terminal's line for line:
 *   images, texts   `biomedclip embed --json` (`features`, `embedding`)
 *   scores          `biomedclip classify --json` (the labels through the template, most probable first)
 * It calls the same ClipCore methods those commands call, with the same defaults.
 */
import type { ClipCore } from '../api/core.js';
import type { LabelScore } from '../api/scores.js';
import { DEMO_LABEL } from '../demo/marker.js';

/** An image the page holds: its bytes and the name it is shown and reported by. */
export interface InputImage {
  name: string;
  bytes: Uint8Array;
}

export interface ExplorerResult {
  format: 'biomedclip-ts explorer result v1';
  /** Only for the demo model, as in the CLI's JSON. */
  model?: string;
  backend: string;
  template: string;
  images: Array<{ file: string; features: number[]; embedding: number[] }>;
  texts: Array<{ text: string; features: number[]; embedding: number[] }>;
  scores: LabelScore[];
}

export async function computeResult(clip: ClipCore, backend: string, image: InputImage, texts: string[], template: string): Promise<ExplorerResult> {
  const [img] = await clip.encodeImages([image.bytes]);
  const txt = await clip.encodeTexts(texts);
  const labels = await clip.labelEmbeddings(texts, [template]);
  const [scores] = await clip.scoreLabels([img.embedding], labels, texts);
  return {
    format: 'biomedclip-ts explorer result v1',
    ...(clip.isDemo ? { model: DEMO_LABEL } : {}),
    backend,
    template,
    images: [{ file: image.name, features: Array.from(img.features), embedding: Array.from(img.embedding) }],
    texts: texts.map((text, i) => ({ text, features: Array.from(txt[i].features), embedding: Array.from(txt[i].embedding) })),
    scores,
  };
}
