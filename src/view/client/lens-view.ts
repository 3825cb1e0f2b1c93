/**
 * The logit lens of the active image (`biomedclip lens`): after each block, [CLS] read through the final
 * norm and the projection head as if the trunk ended there, scored against each text. One line per text
 * over the layers; the image tower's selected layer is marked. Only the last layer is what the model
 * outputs: read the trend, not the early values.
 */

import type { LensRecord } from '../contract.js';
import { segmented } from './controls.js';
import { fmt, h, svg } from './draw.js';
import type { Viewer } from './state.js';

/** Okabe & Ito's colour-blind-safe qualitative palette. */
const SERIES = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];

export function lensSection(v: Viewer): HTMLElement {
  const chart = h('div', { class: 'lens-chart' });
  const hasProbability = v.images.some((i) => i.lens?.layers[0]?.probability !== undefined);
  let measure: 'cosine' | 'probability' = hasProbability ? 'probability' : 'cosine';
  const toggle = segmented(
    'Show',
    [
      { value: 0, text: 'cosine', title: 'cosine with each text' },
      ...(hasProbability ? [{ value: 1, text: 'probability', title: 'zero-shot probability over the labels' }] : []),
    ],
    (v) => {
      measure = v === 1 ? 'probability' : 'cosine';
      toggle.sync(v);
      draw();
    },
  );
  toggle.sync(measure === 'probability' ? 1 : 0);
  const draw = () => {
    const { image, layer } = v.store.state;
    const lens = v.images[image].lens;
    chart.replaceChildren(lens ? lensChart(lens, measure, layer) : h('p', { class: 'muted' }, 'no logit lens in this page'));
  };
  v.store.watch(['image', 'layer'], draw);
  return h(
    'section',
    { class: 'panel', id: 'lens' },
    h(
      'header',
      { class: 'panel-head' },
      h('h2', {}, 'Logit lens'),
      h(
        'p',
        { class: 'muted' },
        "Each block's [CLS] through the final norm and head, scored against each text. Only the last layer is the model's output: read the trend.",
      ),
    ),
    toggle.node,
    chart,
  );
}

function lensChart(lens: LensRecord, measure: 'cosine' | 'probability', marked: number): HTMLElement {
  const [w, hh, left, right, top, bottom] = [620, 210, 48, 16, 12, 30];
  const values = lens.layers.map((l) => (measure === 'probability' ? l.probability! : l.cosine));
  const flat = values.flat();
  let [lo, hi] = measure === 'probability' ? [0, 1] : [Math.min(...flat), Math.max(...flat)];
  if (hi - lo < 1e-6) [lo, hi] = [lo - 0.05, hi + 0.05];
  const pad = measure === 'probability' ? 0 : (hi - lo) * 0.08;
  [lo, hi] = [lo - pad, hi + pad];
  const n = lens.layers.length;
  const x = (l: number) => left + (n > 1 ? (l / (n - 1)) * (w - left - right) : (w - left - right) / 2);
  const y = (v: number) => top + (1 - (v - lo) / (hi - lo)) * (hh - top - bottom);
  const root = svg('svg', { width: w, height: hh, viewBox: `0 0 ${w} ${hh}`, class: 'chart', role: 'img', 'aria-label': `logit lens: ${measure} per layer` });
  const step = (hi - lo) / 4;
  const decimals = Math.max(2, Math.ceil(-Math.log10(step)) + 1); // enough that the 5 labels differ
  for (let k = 0; k <= 4; k++) {
    const v = lo + step * k;
    root.append(svg('line', { x1: left, x2: w - right, y1: y(v), y2: y(v), class: 'gridline' }));
    const label = svg('text', { x: left - 6, y: y(v) + 3, 'text-anchor': 'end', class: 'axis' });
    label.textContent = measure === 'probability' ? `${Math.round(v * 100)}%` : v.toFixed(decimals);
    root.append(label);
  }
  lens.layers.forEach((l) => {
    const label = svg('text', { x: x(l.layer), y: hh - bottom + 16, 'text-anchor': 'middle', class: 'axis' });
    label.textContent = String(l.layer);
    root.append(label);
  });
  root.append(svg('line', { x1: x(marked), x2: x(marked), y1: top, y2: hh - bottom, class: 'marker' }));
  lens.texts.forEach((text, t) => {
    const color = SERIES[t % SERIES.length];
    const pts = values.map((v, l) => `${x(l).toFixed(1)},${y(v[t]).toFixed(1)}`).join(' ');
    root.append(svg('polyline', { points: pts, fill: 'none', stroke: color, 'stroke-width': 2 }));
    values.forEach((v, l) => {
      const dot = svg('circle', { cx: x(l), cy: y(v[t]), r: l === marked ? 4 : 2.5, fill: color });
      const tip = svg('title', {});
      tip.textContent = `layer ${l}, “${text}”: cosine ${fmt(lens.layers[l].cosine[t])}, logit ${fmt(lens.layers[l].logit[t])}${lens.layers[l].probability ? `, probability ${(100 * lens.layers[l].probability![t]).toFixed(1)}%` : ''}`;
      dot.append(tip);
      root.append(dot);
    });
  });
  const legend = h(
    'div',
    { class: 'legend' },
    ...lens.texts.map((text, t) =>
      h('span', { class: 'legend-item' }, h('span', { class: 'swatch', style: `background: ${SERIES[t % SERIES.length]}` }), text),
    ),
  );
  return h('div', {}, root, legend, h('p', { class: 'hint' }, "x: layer (the marked one is the image tower's selected layer)."));
}
