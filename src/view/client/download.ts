/**
 * "Download data": the active image's numbers as one JSON file, in the contracts of the other commands, so
 * they can be reused without this page: `explain` holds `explain --json` objects, `lens` a `lens --json`
 * object, and `trace` the attention tensors under their hook names and shapes as `trace` writes them
 * (one entry per input; values decoded from the page's 8-bit storage, 4 significant digits).
 */
import type { AttentionMaps } from './attention.js';
import { baseName, h } from './draw.js';
import type { Viewer } from './state.js';

export function downloadButton(v: Viewer): HTMLElement {
  return h(
    'button',
    {
      type: 'button',
      class: 'button',
      id: 'download',
      title: "this image's maps, lens, scores and every attention tensor, as JSON",
      onclick: () => saveJson(v),
    },
    'Download data (JSON)',
  );
}

function saveJson(v: Viewer): void {
  const i = v.store.state.image;
  const text = dataJson(v, i);
  if (text === null) return; // a click before the texts' attention is decoded (the first second or so)
  const a = h('a', {
    href: URL.createObjectURL(new Blob([text], { type: 'application/json' })),
    download: `${baseName(v.images[i].name)}.view-data.json`,
  });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** A float32 tensor as a JSON array, 4 significant digits (the 8-bit storage holds less than that). */
function jsonNumbers(values: Float32Array): string {
  const parts = new Array<string>(values.length);
  for (let k = 0; k < values.length; k++) parts[k] = values[k] === 0 ? '0' : String(Number(values[k].toPrecision(4)));
  return `[${parts.join(',')}]`;
}

function tensorsOf(att: AttentionMaps): Array<{ name: string; shape: number[]; data: string }> {
  return att.names.map((name, l) => ({ name, shape: [1, att.heads, att.size, att.size], data: jsonNumbers(att.layerValues(l)) }));
}

/**
 * The JSON text for image `i` and every text (null while some attention is not decoded yet); tensor data
 * is spliced in as text (millions of numbers).
 */
function dataJson(v: Viewer, i: number): string | null {
  const img = v.images[i];
  const attention = [img.attention, ...v.texts.map((t) => t.attention)];
  if (attention.some((a) => a === undefined)) return null;
  const [imageAttention, ...textAttention] = attention as AttentionMaps[];
  const label = v.model.label ? { model: v.model.label } : {};
  const tensors: string[] = [];
  const keep = (ts: Array<{ name: string; shape: number[]; data: string }>) =>
    ts.map((t) => {
      tensors.push(t.data);
      return { name: t.name, shape: t.shape, data: `@@${tensors.length - 1}@@` };
    });
  const out = {
    format: 'biomedclip-ts view data v1',
    ...label,
    note: 'attention values are decoded from 8 bits per value with a scale per row: each is within its row maximum / 510 of the model output',
    explain: v.explanations.filter((e) => e.image === img.name).map((e) => ({ ...label, ...e })),
    lens: img.lens ? { ...label, ...img.lens } : null,
    zero_shot: img.scores ? { image: img.name, scores: img.scores } : null,
    trace: [
      { image: img.name, tensors: keep(tensorsOf(imageAttention)) },
      ...v.texts.map((t, j) => ({ text: t.text, tokens: t.tokens, tensors: keep(tensorsOf(textAttention[j])) })),
    ],
  };
  return JSON.stringify(out, null, 1).replace(/"@@(\d+)@@"/g, (_m, k: string) => tensors[Number(k)]);
}
