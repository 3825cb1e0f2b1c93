/**
 * The explanations of the active image against each text: every method's map over the crop (the maps of
 * `biomedclip explain`, min–max scaled, as its pictures are), the text's tokens coloured by each method's
 * relevance, and the zero-shot scores when the page has labels.
 */
import type { ExplainRecord, LabelScore } from '../contract.js';
import { drawOverlay, fmt, h, hiDpiCanvas, mapCanvas, maxOf, minOf, scaled } from './draw.js';
import type { Viewer } from './state.js';

const SMALL_SIZE = 148;

export function explainSection(v: Viewer): HTMLElement {
  const body = h('div', { class: 'explain-body' });
  v.store.watch(['image'], () => {
    const img = v.images[v.store.state.image];
    // Only the texts explained for this image: with many labels each image explains its most probable few.
    const records = v.texts.map((t) => v.explanations.filter((e) => e.image === img.name && e.text === t.text));
    const cards = records.filter((r) => r.length > 0).map((r) => explainCard(img.crop, r, v.lut));
    body.replaceChildren(...(img.scores ? [scoresCard(img.scores)] : []), ...cards);
  });
  return h(
    'section',
    { class: 'panel', id: 'explanations' },
    h(
      'header',
      { class: 'panel-head' },
      h('h2', {}, 'Explanations'),
      h(
        'p',
        { class: 'muted' },
        `What drives each image-text logit, by ${v.methods.join(', ')} (docs/explain.md). Maps are min–max scaled per map; token colours over the words, [CLS] and [SEP] left out of the scale.`,
      ),
    ),
    body,
  );
}

function explainCard(crop: HTMLCanvasElement, records: ExplainRecord[], lut: Uint8Array): HTMLElement {
  if (records.length === 0) return h('div', { class: 'card' }, 'no explanation for this pair');
  const first = records[0];
  const maps = records.map((r) => {
    const canvas = hiDpiCanvas(SMALL_SIZE, SMALL_SIZE, 'small-canvas');
    const [min, max] = [minOf(r.image_map), maxOf(r.image_map)];
    drawOverlay(canvas.getContext('2d')!, crop, mapCanvas(r.image_map, r.grid[0], r.grid[1], { lut, min, max, opacity: 0.85 }), SMALL_SIZE, false);
    return h(
      'figure',
      { class: 'map-figure', 'data-method': r.method, style: `width: ${SMALL_SIZE}px` },
      canvas,
      h('figcaption', {}, h('strong', {}, r.method), h('span', { class: 'muted map-range' }, `${fmt(min)} … ${fmt(max)}`)),
    );
  });
  const tokenRows = records
    .filter((r) => r.text_map !== null)
    .map((r) =>
      h(
        'div',
        { class: 'token-row' },
        h('span', { class: 'token-row-label' }, r.method),
        h('div', { class: 'tokens' }, ...coloredTokens(r.tokens, r.text_map!, lut)),
      ),
    );
  return h(
    'article',
    { class: 'card explain-card' },
    h(
      'header',
      { class: 'card-head' },
      h('span', { class: 'pair-text' }, `“${first.text}”`),
      h('span', { class: 'logit', title: 'exp(logit_scale) · cos(image, text)' }, `logit ${first.logit.toFixed(2)}`),
    ),
    h('div', { class: 'maps' }, ...maps),
    ...tokenRows,
  );
}

/** Tokens as chips tinted by their value, scaled over the words ([CLS] and [SEP] are not words). */
function coloredTokens(tokens: string[], values: number[], lut: Uint8Array): HTMLElement[] {
  const words = values.filter((_, i) => tokens[i] !== '[CLS]' && tokens[i] !== '[SEP]');
  const [min, max] = [minOf(words), maxOf(words)];
  return tokens.map((tok, i) => {
    const special = tok === '[CLS]' || tok === '[SEP]';
    const t = scaled(values[i], min, max);
    const k = Math.round(t * 255) * 3;
    const rgb = `${lut[k]}, ${lut[k + 1]}, ${lut[k + 2]}`;
    const style = special ? '' : `background: rgba(${rgb}, ${(0.12 + 0.78 * t).toFixed(2)}); color: ${t > 0.35 && t < 0.75 ? '#fff' : '#111827'}`;
    return h('span', { class: `tok${special ? ' tok-special' : ''}`, style, title: `${tok}: ${fmt(values[i])}` }, tok);
  });
}

function scoresCard(scores: LabelScore[]): HTMLElement {
  const rows = scores.map((s, i) =>
    h(
      'div',
      { class: `score-row${i === 0 ? ' top' : ''}` },
      h('span', { class: 'score-label' }, s.label),
      h('span', { class: 'score-bar' }, h('span', { class: 'score-fill', style: `width: ${(100 * s.probability).toFixed(1)}%` })),
      h('span', { class: 'score-value' }, `${(100 * s.probability).toFixed(1)}%`),
      h('span', { class: 'muted score-logit' }, `logit ${s.logit.toFixed(2)}`),
    ),
  );
  return h('article', { class: 'card scores-card' }, h('header', { class: 'card-head' }, h('span', { class: 'pair-text' }, 'Zero-shot')), ...rows);
}
