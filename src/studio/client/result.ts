/**
 * What the explorer computes for an image and its texts, in the CLI's own shapes, so a result saved from
 * the page can be compared with the terminal's line for line:
 *   images, texts   `biomedclip embed --json` (`features`, `embedding`)
 *   scores          `biomedclip classify --json` (the labels through the template, most probable first)
 * It calls the same ClipCore methods those commands call, with the same defaults.
 */
import type { ClipCore } from '../../api/core.js';
import type { LabelScore } from '../../api/scores.js';
import { DEMO_LABEL } from '../../demo/marker.js';
import { h } from '../../view/client/draw.js';
import type { InputImage } from './inputs.js';

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

/** The zero-shot scores as a table: label, probability (with a bar) and logit. */
export function scoresTable(scores: LabelScore[]): HTMLElement {
  const rows = scores.map((s) =>
    h(
      'tr',
      {},
      h('td', { class: 'label' }, s.label),
      h(
        'td',
        { class: 'prob' },
        h('span', { class: 'prob-bar', style: `width: ${(100 * s.probability).toFixed(1)}%` }),
        h('span', {}, `${(100 * s.probability).toFixed(1)}%`),
      ),
      h('td', { class: 'num' }, s.logit.toFixed(3)),
    ),
  );
  return h(
    'table',
    { class: 'scores', 'aria-label': 'Zero-shot scores' },
    h('thead', {}, h('tr', {}, h('th', {}, 'label'), h('th', {}, 'probability'), h('th', {}, 'logit'))),
    h('tbody', {}, ...rows),
  );
}

/** A button that saves `result()` as JSON (a Blob URL: nothing leaves the page). */
export function downloadResultButton(result: () => ExplorerResult | undefined): HTMLButtonElement {
  return h(
    'button',
    {
      type: 'button',
      class: 'button',
      id: 'download-result',
      onclick: () => {
        const r = result();
        if (!r) return;
        const url = URL.createObjectURL(new Blob([JSON.stringify(r, null, 2)], { type: 'application/json' }));
        const a = h('a', { href: url, download: `${r.images[0].file.replace(/\.[^.]*$/, '')}.biomedclip.json` });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
      },
    },
    'Download result (JSON)',
  );
}
