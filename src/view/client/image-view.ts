/**
 * The image tower's main view: the crop the model saw with its patch grid, and over it one query token's
 * attention to every patch for the chosen layer and head (or the head mean). Hovering a patch makes it the
 * query, clicking pins it, [CLS] is a query too. The [CLS] key is not a place in the image: its share of
 * the row is printed beside the map instead of being drawn.
 */

import { headButtons, layerButtons } from './controls.js';
import { colorBar, drawGrid, drawOverlay, fmt, h, hiDpiCanvas, mapCanvas } from './draw.js';
import { modelView } from './model-view.js';
import { mapRange, queryName, type Viewer } from './state.js';

const MAIN_SIZE = 448;

export function imageSection(v: Viewer): HTMLElement {
  const { vision } = v.model;
  const { store } = v;
  const s = store.state;
  const [rows, cols] = vision.grid;
  const canvas = hiDpiCanvas(MAIN_SIZE, MAIN_SIZE, 'main-canvas');
  canvas.id = 'image-canvas';
  canvas.setAttribute('role', 'img');
  const ctx = canvas.getContext('2d')!;
  const queryLabel = h('span', { class: 'query-name', id: 'query-name' });
  const clsShare = h('span', { class: 'muted', id: 'cls-share' });
  const barSlot = h('div', { class: 'bar-slot' });

  const patchAt = (e: MouseEvent): number => {
    const r = canvas.getBoundingClientRect();
    const c = Math.min(cols - 1, Math.max(0, Math.floor(((e.clientX - r.left) / r.width) * cols)));
    const rr = Math.min(rows - 1, Math.max(0, Math.floor(((e.clientY - r.top) / r.height) * rows)));
    return 1 + rr * cols + c;
  };
  canvas.addEventListener('mousemove', (e) => {
    if (!s.pinned) store.update({ query: patchAt(e), focus: 'image' });
  });
  canvas.addEventListener('mouseleave', () => {
    if (!s.pinned) store.update({ query: 0 });
  });
  canvas.addEventListener('click', (e) => {
    const q = patchAt(e);
    const unpin = s.pinned && s.query === q;
    store.update({ query: q, pinned: !unpin, focus: 'image' });
  });

  const layerSel = layerButtons(vision.layers, (layer) => store.update({ layer, focus: 'image' }));
  const headSel = headButtons(vision.heads, (head) => store.update({ head, focus: 'image' }));
  const clsButton = h(
    'button',
    { type: 'button', class: 'chip', title: 'attention from the [CLS] token (c)', onclick: () => store.update({ query: 0, pinned: true, focus: 'image' }) },
    '[CLS] as query',
  );
  const opacity = h('input', {
    type: 'range',
    min: 0.2,
    max: 1,
    step: 0.05,
    value: s.opacity,
    'aria-label': 'overlay opacity',
    oninput: () => store.update({ opacity: Number(opacity.value) }),
  });
  const smooth = h('input', { type: 'checkbox', 'aria-label': 'smooth', onchange: () => store.update({ smooth: smooth.checked }) });
  const fromZero = h('input', {
    type: 'checkbox',
    'aria-label': 'scale from zero',
    onchange: () => store.update({ scale: fromZero.checked ? 'zero' : 'range' }),
  });

  store.watch(['layer'], () => layerSel.sync(s.layer));
  store.watch(['head'], () => headSel.sync(s.head));
  store.watch(['image', 'query', 'layer', 'head', 'opacity', 'smooth', 'pinned', 'scale'], () => {
    const img = v.images[s.image];
    if (!img.attention) return;
    const { query, layer, head, pinned } = s;
    const row = img.attention.row(layer, head, query); // keys: [CLS], then the patches row-major
    const patches = row.subarray(1);
    const [min, max] = mapRange(patches, s.scale);
    drawOverlay(ctx, img.crop, mapCanvas(patches, rows, cols, { lut: v.lut, min, max, opacity: s.opacity }), MAIN_SIZE, s.smooth);
    drawGrid(ctx, rows, cols, MAIN_SIZE);
    if (query > 0) outlinePatch(ctx, query - 1, rows, cols, pinned);
    queryLabel.textContent = `${queryName(query, cols)}${pinned ? ' · pinned' : ''}`;
    canvas.setAttribute('aria-label', `attention from ${queryName(query, cols)} over the patches, layer ${layer}, ${head < 0 ? 'head mean' : `head ${head}`}`);
    clsShare.textContent = `attention to [CLS] (not drawn): ${fmt(row[0])}`;
    barSlot.replaceChildren(colorBar(v.lut, min, max, `attention, layer ${layer}, ${head < 0 ? 'head mean' : `head ${head}`}`));
  });

  return h(
    'section',
    { class: 'panel tower', id: 'image-tower', onmouseenter: () => store.update({ focus: 'image' }) },
    h(
      'header',
      { class: 'panel-head' },
      h('h2', {}, 'Image tower'),
      h('p', { class: 'muted' }, `ViT: ${vision.layers} layers × ${vision.heads} heads over ${rows} × ${cols} patches of ${vision.patchSize} px and [CLS]`),
    ),
    h(
      'div',
      { class: 'tower-body' },
      h(
        'div',
        { class: 'figure' },
        canvas,
        h('div', { class: 'caption' }, h('span', {}, 'query '), queryLabel, clsButton),
        barSlot,
        clsShare,
        h(
          'div',
          { class: 'controls' },
          h('label', {}, 'opacity ', opacity),
          h('label', {}, smooth, ' smooth'),
          h('label', { title: "colours from 0 instead of the map's minimum: shows amount, not only shape" }, fromZero, ' scale from 0'),
        ),
      ),
      h('div', { class: 'side' }, layerSel.node, headSel.node, modelView(v)),
    ),
  );
}

/** A white frame around the query patch (solid when pinned). */
function outlinePatch(ctx: CanvasRenderingContext2D, patch: number, rows: number, cols: number, pinned: boolean): void {
  const w = MAIN_SIZE / cols;
  const hh = MAIN_SIZE / rows;
  const x = (patch % cols) * w;
  const y = Math.floor(patch / cols) * hh;
  ctx.save();
  ctx.lineWidth = 2;
  ctx.strokeStyle = 'rgba(0,0,0,0.55)';
  ctx.strokeRect(x - 1, y - 1, w + 2, hh + 2);
  ctx.strokeStyle = '#fff';
  ctx.setLineDash(pinned ? [] : [3, 2]);
  ctx.strokeRect(x + 1, y + 1, w - 2, hh - 2);
  ctx.restore();
}
