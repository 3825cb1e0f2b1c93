/**
 * The text tower's head view, after bertviz (Vig 2019): each text's tokens twice, queries on the left and
 * keys on the right, a line from query i to key j as opaque as A[i, j] for the chosen layer and head (or
 * the head mean). Hovering a query shows its lines alone and shades the keys by weight.
 */

import { headButtons, layerButtons } from './controls.js';
import { h, svg } from './draw.js';
import type { Viewer } from './state.js';

const TOKEN_ROW = 21;
const LINK_GAP = 110;

export function textSection(v: Viewer): HTMLElement {
  const { layers, heads } = v.model.text;
  const { store } = v;
  const layerSel = layerButtons(layers, (textLayer) => store.update({ textLayer, focus: 'text' }));
  const headSel = headButtons(heads, (textHead) => store.update({ textHead, focus: 'text' }));
  store.watch(['textLayer'], () => layerSel.sync(store.state.textLayer));
  store.watch(['textHead'], () => headSel.sync(store.state.textHead));
  const cards = v.texts.map((_, i) => headView(v, i));
  return h(
    'section',
    { class: 'panel tower', id: 'text-tower', onmouseenter: () => store.update({ focus: 'text' }) },
    h(
      'header',
      { class: 'panel-head' },
      h('h2', {}, 'Text tower'),
      h('p', { class: 'muted' }, `BERT: ${layers} layers × ${heads} heads over WordPiece tokens. Left: queries, right: keys; line opacity = attention weight.`),
    ),
    h('div', { class: 'selectors' }, layerSel.node, headSel.node),
    h('div', { class: 'head-views' }, ...cards),
  );
}

/** Width of a token column: the longest token as the page's monospace font draws it, plus a margin. */
function columnWidth(tokens: string[]): number {
  const ctx = document.createElement('canvas').getContext('2d')!;
  ctx.font = `12.5px ${getComputedStyle(document.documentElement).getPropertyValue('--mono')}`;
  return Math.ceil(Math.max(48, ...tokens.map((t) => ctx.measureText(t).width)) + 12);
}

function headView(v: Viewer, index: number): HTMLElement {
  const { store } = v;
  const s = store.state;
  const { text, tokens } = v.texts[index];
  const col = columnWidth(tokens);
  const width = 2 * col + LINK_GAP;
  const height = tokens.length * TOKEN_ROW + 6;
  const root = svg('svg', {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    class: 'head-view',
    role: 'img',
    'aria-label': `attention between the tokens of "${text}"`,
  });
  const links = svg('g', { class: 'links' });
  const shades = svg('g', {});
  root.append(shades, links);
  const y = (i: number) => 3 + i * TOKEN_ROW + TOKEN_ROW / 2;
  const keyShades = tokens.map((_, j) =>
    svg('rect', { x: col + LINK_GAP, y: y(j) - TOKEN_ROW / 2 + 1, width: col, height: TOKEN_ROW - 2, rx: 3, class: 'key-shade', opacity: 0 }),
  );
  shades.append(...keyShades);
  tokens.forEach((tok, i) => {
    const left = svg('text', { x: col - 6, y: y(i), 'text-anchor': 'end', class: 'token query-token', 'data-index': i });
    left.textContent = tok;
    left.addEventListener('mouseenter', () => store.update({ textQuery: { text: index, token: i }, focus: 'text' }));
    left.addEventListener('mouseleave', () => store.update({ textQuery: null }));
    const right = svg('text', { x: col + LINK_GAP + 6, y: y(i), class: 'token' });
    right.textContent = tok;
    root.append(left, right);
  });

  store.watch(['textLayer', 'textHead', 'textQuery'], () => {
    const att = v.texts[index].attention;
    if (!att) return;
    const { textLayer, textHead } = s;
    const only = s.textQuery?.text === index ? s.textQuery.token : -1;
    const lines: SVGLineElement[] = [];
    for (let i = 0; i < tokens.length; i++) {
      if (only >= 0 && i !== only) continue;
      const row = att.row(textLayer, textHead, i);
      for (let j = 0; j < tokens.length; j++) {
        if (row[j] < 0.01) continue; // below 1% a line is invisible anyway
        lines.push(svg('line', { x1: col, y1: y(i), x2: col + LINK_GAP, y2: y(j), 'stroke-opacity': row[j].toFixed(3), class: 'link' }));
      }
      if (only === i) keyShades.forEach((r, j) => r.setAttribute('opacity', String(row[j])));
    }
    if (only < 0) keyShades.forEach((r) => r.setAttribute('opacity', '0'));
    links.replaceChildren(...lines);
  });
  return h('figure', { class: 'card head-card' }, h('figcaption', {}, `“${text}”`), root);
}
