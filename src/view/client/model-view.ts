/**
 * The model view: every layer (rows) and head (columns, then the head mean) at once, each thumbnail the
 * current query's attention over the patches, each in its own colour range (so it shows where a head
 * looks; how much is in the main view's colour bar). Clicking a thumbnail selects its layer and head.
 */

import { h, hiDpiCanvas, mapCanvas } from './draw.js';
import { mapRange, queryName, type Viewer } from './state.js';

const THUMB_LABEL = 26;

export function modelView(v: Viewer): HTMLElement {
  const { layers, heads, grid } = v.model.vision;
  const { store } = v;
  const s = store.state;
  const [rows, cols] = grid;
  const columns = heads + 1;
  const cell = Math.max(20, Math.min(64, Math.floor((560 - THUMB_LABEL) / columns) - 3));
  const pitch = cell + 3;
  const width = THUMB_LABEL + columns * pitch;
  const height = THUMB_LABEL - 8 + layers * pitch;
  const canvas = hiDpiCanvas(width, height, 'model-canvas');
  canvas.id = 'model-canvas';
  const ctx = canvas.getContext('2d')!;
  const title = h('h3', {});
  const scratch = h('canvas', { width: cols, height: rows }); // one thumbnail at a time, drawn then copied
  const at = (e: MouseEvent): { layer: number; head: number } | null => {
    const r = canvas.getBoundingClientRect();
    const col = Math.floor((e.clientX - r.left - THUMB_LABEL) / pitch);
    const row = Math.floor((e.clientY - r.top - (THUMB_LABEL - 8)) / pitch);
    if (col < 0 || col >= columns || row < 0 || row >= layers) return null;
    return { layer: row, head: col === heads ? -1 : col };
  };
  canvas.addEventListener('click', (e) => {
    const pick = at(e);
    if (pick) store.update({ ...pick, focus: 'image' });
  });
  canvas.addEventListener('mousemove', (e) => {
    const pick = at(e);
    canvas.title = pick ? `layer ${pick.layer}, ${pick.head < 0 ? 'head mean' : `head ${pick.head}`}: click to select` : '';
  });

  store.watch(['image', 'query', 'layer', 'head', 'scale'], () => {
    const attention = v.images[s.image].attention;
    if (!attention) return;
    title.textContent = `Every head, from ${queryName(s.query, cols)}`;
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = '#6b7280';
    ctx.font = '10px system-ui, sans-serif';
    ctx.textAlign = 'center';
    for (let c = 0; c < columns; c++) ctx.fillText(c === heads ? 'mean' : String(c), THUMB_LABEL + c * pitch + cell / 2, 10);
    ctx.textAlign = 'right';
    for (let l = 0; l < layers; l++) {
      ctx.fillText(`L${l}`, THUMB_LABEL - 5, THUMB_LABEL - 8 + l * pitch + cell / 2 + 3);
      for (let c = 0; c < columns; c++) {
        const patches = attention.row(l, c === heads ? -1 : c, s.query).subarray(1);
        const [min, max] = mapRange(patches, s.scale);
        const map = mapCanvas(patches, rows, cols, { lut: v.lut, min, max, opacity: 1, ramp: false }, scratch);
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(map, THUMB_LABEL + c * pitch, THUMB_LABEL - 8 + l * pitch, cell, cell);
      }
    }
    const { layer, head } = s;
    const col = head < 0 ? heads : head;
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#111827';
    ctx.strokeRect(THUMB_LABEL + col * pitch - 1.5, THUMB_LABEL - 8 + layer * pitch - 1.5, cell + 3, cell + 3);
  });
  return h(
    'div',
    { class: 'model-view' },
    title,
    canvas,
    h('p', { class: 'hint' }, 'Rows: layers. Columns: heads, then their mean. Each map in its own colour range. Click to select.'),
  );
}
