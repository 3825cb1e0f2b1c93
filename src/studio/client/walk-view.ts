/**
 * The forward pass, step by step (../walk.ts computes the steps): a list of the steps on the left, one
 * step at a time on the right with its shape, its hook point, what happens, the values drawn, and the
 * source lines that compute it (fetched from the server's copy of src/, the line found by its text).
 * "Previous" / "Next" buttons and the list are plain buttons: the keyboard moves through them as through
 * any page.
 */
import { colorBar, cropCanvas, drawGrid, drawOverlay, fmt, h, hiDpiCanvas, mapCanvas, maxOf, minOf } from '../../view/client/draw.js';
import type { Drawing, SourceRef, WalkStep } from '../walk.js';

const SIZE = 224;

/** A grid map (rows × cols values) drawn at SIZE px, with a colour bar. */
function gridMap(values: ArrayLike<number>, grid: number, lut: Uint8Array, label: string, under?: HTMLCanvasElement): HTMLElement {
  const [min, max] = [minOf(values), maxOf(values)];
  const canvas = hiDpiCanvas(SIZE, SIZE, 'walk-canvas');
  const ctx = canvas.getContext('2d')!;
  const map = mapCanvas(values, grid, grid, { lut, min, max, opacity: under ? 0.85 : 1, ramp: under !== undefined });
  if (under) drawOverlay(ctx, under, map, SIZE, false);
  else {
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(map, 0, 0, SIZE, SIZE);
  }
  return h('figure', { class: 'walk-figure map' }, canvas, colorBar(lut, min, max, label));
}

/** One channel plane as grey levels (its own min … max). */
function channelCanvas(values: Float32Array, size: number, c: number): HTMLCanvasElement {
  const plane = values.subarray(c * size * size, (c + 1) * size * size);
  const [min, max] = [minOf(plane), maxOf(plane)];
  const canvas = h('canvas', { width: size, height: size, class: 'walk-channel' });
  const img = new ImageData(size, size);
  for (let i = 0; i < plane.length; i++) {
    const v = Math.round((255 * (plane[i] - min)) / (max - min || 1));
    img.data.set([v, v, v, 255], i * 4);
  }
  canvas.getContext('2d')!.putImageData(img, 0, 0);
  return canvas;
}

function tokenBars(tokens: string[], values: number[], label: string): HTMLElement {
  const top = Math.max(...values);
  return h(
    'div',
    { class: 'token-bars', 'aria-label': label },
    ...tokens.map((t, i) =>
      h(
        'div',
        { class: 'token-bar' },
        h('span', { class: 'token' }, t),
        h('span', { class: 'bar', style: `width: ${(100 * values[i]) / top}%` }),
        h('span', { class: 'num' }, fmt(values[i])),
      ),
    ),
    h('p', { class: 'hint' }, label),
  );
}

/** The drawing of one step. */
export function drawStep(d: Drawing, lut: Uint8Array, crop: HTMLCanvasElement): HTMLElement {
  switch (d.kind) {
    case 'crop': {
      const canvas = hiDpiCanvas(SIZE, SIZE, 'walk-canvas');
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(cropCanvas(d.rgb, d.size), 0, 0, SIZE, SIZE);
      drawGrid(ctx, d.grid, d.grid, SIZE);
      return h('figure', { class: 'walk-figure' }, canvas, h('figcaption', { class: 'hint' }, `${d.grid} × ${d.grid} patches of ${d.size / d.grid} px`));
    }
    case 'channels':
      return h(
        'div',
        { class: 'walk-row' },
        ...['R', 'G', 'B'].map((name, c) =>
          h(
            'figure',
            { class: 'walk-figure' },
            channelCanvas(d.values, d.size, c),
            h('figcaption', { class: 'hint' }, `${name}: (x − ${d.mean[c].toFixed(3)}) / ${d.std[c].toFixed(3)}`),
          ),
        ),
      );
    case 'tokens-map':
      return h(
        'div',
        { class: 'walk-row' },
        gridMap(d.patches, d.grid, lut, d.label),
        Number.isNaN(d.cls) ? null : h('p', { class: 'hint' }, `[CLS]: ${fmt(d.cls)}`),
      );
    case 'cls-attention':
      return h(
        'div',
        { class: 'walk-row' },
        gridMap(d.mean, d.grid, lut, '[CLS] → patches, mean of the heads', crop),
        gridMap(d.residual.patches, d.grid, lut, `residual norm per patch after the block ([CLS]: ${fmt(d.residual.cls)})`),
        h(
          'div',
          { class: 'walk-heads' },
          ...d.heads.map((row, i) =>
            // Each head in its own min … max, as the viewer's head grid: from 0, a near-uniform head is one flat colour.
            h(
              'figure',
              {},
              mapCanvas(row, d.grid, d.grid, { lut, min: minOf(row), max: maxOf(row), opacity: 1, ramp: false }),
              h('figcaption', {}, `head ${i}`),
            ),
          ),
        ),
      );
    case 'token-bars':
      return tokenBars(d.tokens, d.values, d.label);
    case 'wordpieces':
      return h(
        'table',
        { class: 'wordpieces' },
        ...d.texts.map((text, i) =>
          h(
            'tr',
            {},
            h('th', { scope: 'row' }, text),
            ...d.tokens[i].map((t, k) =>
              h('td', { class: d.mask[i][k] ? '' : 'pad', title: `id ${d.ids[i][k]}, mask ${d.mask[i][k]}` }, t, h('small', {}, String(d.ids[i][k]))),
            ),
          ),
        ),
      );
    case 'text-attention': {
      const n = d.tokens.length;
      const cell = Math.max(8, Math.min(28, Math.floor(SIZE / n)));
      const canvas = hiDpiCanvas(cell * n, cell * n, 'walk-matrix');
      canvas.getContext('2d')!.drawImage(mapCanvas(d.mean, n, n, { lut, max: maxOf(d.mean), opacity: 1, ramp: false }), 0, 0, cell * n, cell * n);
      canvas.setAttribute('aria-label', `attention between the tokens ${d.tokens.join(' ')}, rows are queries`);
      return h(
        'div',
        { class: 'walk-row' },
        h('figure', { class: 'walk-figure' }, canvas, h('figcaption', { class: 'hint' }, `rows: ${d.tokens.join(' ')}`)),
        tokenBars(d.tokens, d.norms, 'norm per token after the layer'),
      );
    }
    case 'vector':
      return h(
        'figure',
        { class: 'walk-figure' },
        gridStrip(d.values, lut),
        h('figcaption', { class: 'hint' }, `${d.label}: ${d.values.length} values, from ${fmt(minOf(d.values))} to ${fmt(maxOf(d.values))}`),
      );
    case 'head':
      return h(
        'table',
        { class: 'scores' },
        h('thead', {}, h('tr', {}, h('th', {}, 'text'), h('th', {}, 'cosine'), h('th', {}, `× ${d.scale.toFixed(2)} = logit`), h('th', {}, 'softmax'))),
        h(
          'tbody',
          {},
          ...d.texts.map((t, i) =>
            h(
              'tr',
              {},
              h('td', {}, t),
              h('td', { class: 'num' }, d.cosines[i].toFixed(4)),
              h('td', { class: 'num' }, d.logits[i].toFixed(3)),
              h('td', { class: 'num' }, `${(100 * d.probabilities[i]).toFixed(1)}%`),
            ),
          ),
        ),
      );
  }
}

/** A vector as one row of coloured cells. */
function gridStrip(values: Float32Array, lut: Uint8Array): HTMLCanvasElement {
  const canvas = hiDpiCanvas(448, 24, 'walk-strip');
  canvas.getContext('2d')!.imageSmoothingEnabled = false;
  canvas
    .getContext('2d')!
    .drawImage(mapCanvas(values, 1, values.length, { lut, min: minOf(values), max: maxOf(values), opacity: 1, ramp: false }), 0, 0, 448, 24);
  return canvas;
}

/** Lines around the one that holds `ref.find` in the served copy of src/`ref.file`. */
async function sourceLines(ref: SourceRef): Promise<HTMLElement> {
  const res = await fetch(`source/${ref.file}`);
  if (!res.ok) return h('p', { class: 'hint' }, `src/${ref.file} (source not served)`);
  const lines = (await res.text()).split('\n');
  const at = lines.findIndex((l) => l.includes(ref.find));
  const from = Math.max(0, at - 3);
  const shown = lines.slice(from, at + 9);
  return h(
    'figure',
    { class: 'source' },
    h('figcaption', {}, h('code', {}, `src/${ref.file}:${at + 1}`)),
    h('pre', {}, ...shown.map((l, i) => h('span', { class: from + i === at ? 'line here' : 'line', 'data-line': from + i + 1 }, `${l}\n`))),
  );
}

/** The walk panel over `steps`; `crop` is the image the model saw (drawn under the attention maps). */
export function walkPanel(steps: WalkStep[], lut: Uint8Array, crop: HTMLCanvasElement): HTMLElement {
  const list = h('ol', { class: 'walk-list' });
  const body = h('div', { class: 'walk-body', 'aria-live': 'polite' });
  let current = 0;
  const buttons = steps.map((s, i) => h('button', { type: 'button', class: `walk-item ${s.tower}`, onclick: () => show(i) }, s.title));
  buttons.forEach((b) => list.append(h('li', {}, b)));
  const show = (i: number) => {
    // The step's content is rebuilt, buttons included: a keyboard user on "Next" must stay on it (or on
    // "Previous" at the last step, where "Next" is disabled), not fall back to the top of the page.
    const was = (document.activeElement as HTMLElement | null)?.dataset.nav;
    current = Math.max(0, Math.min(steps.length - 1, i));
    const s = steps[current];
    buttons.forEach((b, k) => b.setAttribute('aria-current', String(k === current)));
    const source = h('div', { class: 'source-slot' }, h('p', { class: 'hint' }, 'loading the source…'));
    body.replaceChildren(
      h('p', { class: 'muted' }, `Step ${current + 1} of ${steps.length} · ${s.tower === 'both' ? 'both towers' : `${s.tower} tower`}`),
      h('h3', { id: 'walk-title' }, s.title),
      h('p', {}, h('span', { class: 'shape' }, s.shape), s.hook ? h('code', { class: 'hook' }, s.hook) : null),
      h('p', {}, s.text),
      drawStep(s.draw, lut, crop),
      source,
      h(
        'div',
        { class: 'walk-nav' },
        h('button', { type: 'button', class: 'button', 'data-nav': 'previous', onclick: () => show(current - 1), disabled: current === 0 }, '← Previous'),
        h(
          'button',
          { type: 'button', class: 'button', 'data-nav': 'next', onclick: () => show(current + 1), disabled: current === steps.length - 1 },
          'Next →',
        ),
      ),
    );
    if (was) {
      const nav = [...body.querySelectorAll<HTMLButtonElement>('[data-nav]')];
      (nav.find((b) => b.dataset.nav === was && !b.disabled) ?? nav.find((b) => !b.disabled))?.focus();
    }
    void sourceLines(s.source).then((el) => source.replaceChildren(el));
  };
  show(0);
  return h('div', { class: 'walk' }, h('nav', { 'aria-label': 'Forward pass steps' }, list), body);
}
