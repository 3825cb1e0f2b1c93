/**
 * The viewer page's frame around the sections: the header (title, download, the model's shape, the demo
 * model's warning, the strip of images, the keys) and the footer (what the file's bytes are spent on).
 */
import type { CostLine } from '../contract.js';
import { downloadButton } from './download.js';
import { baseName, h, hiDpiCanvas } from './draw.js';
import { KEYS_HELP } from './keys.js';
import type { Viewer } from './state.js';

export function pageHeader(v: Viewer): HTMLElement {
  const { model, store } = v;
  const { vision, text } = model;
  const strip = h('nav', { class: 'strip', 'aria-label': 'images' });
  v.images.forEach((img, i) => {
    const thumb = hiDpiCanvas(56, 56);
    thumb.getContext('2d')!.drawImage(img.crop, 0, 0, 56, 56);
    const top = img.scores?.[0];
    strip.append(
      h(
        'button',
        { type: 'button', class: 'strip-item', 'data-index': i, title: img.name, onclick: () => v.showImage(i) },
        thumb,
        h('span', { class: 'strip-name' }, baseName(img.name)),
        top ? h('span', { class: 'muted' }, `${top.label} ${(100 * top.probability).toFixed(0)}%`) : null,
      ),
    );
  });
  store.watch(['image'], () => strip.querySelectorAll('.strip-item').forEach((b, i) => b.setAttribute('aria-current', String(i === store.state.image))));
  return h(
    'header',
    { class: 'page-head' },
    h('div', { class: 'title-row' }, h('h1', {}, 'BiomedCLIP attention'), downloadButton(v)),
    h(
      'p',
      { class: 'muted', title: model.dir },
      `model ${model.dir.split(/[\\/]/).filter(Boolean).pop()} · image tower ${vision.layers} × ${vision.heads} heads · text tower ${text.layers} × ${text.heads} heads · ${v.images.length} image(s), ${v.texts.length} text(s)`,
    ),
    model.warning ? h('p', { class: 'warning', role: 'alert' }, `⚠ ${model.warning}`) : null,
    v.images.length > 1 ? strip : null,
    h(
      'p',
      { class: 'keys' },
      'Keys (for the tower under the pointer): ',
      ...KEYS_HELP.flatMap(([keys, what], i) => [...keys.map((k) => h('kbd', {}, k)), ` ${what}${i < KEYS_HELP.length - 1 ? ' · ' : ''}`]),
    ),
  );
}

export function pageFooter(cost: CostLine[]): HTMLElement {
  const total = cost.reduce((s, c) => s + c.bytes, 0);
  const rows = cost.map((c) => h('tr', {}, h('td', {}, c.part), h('td', { class: 'num' }, `${(c.bytes / 1e6).toFixed(2)} MB`)));
  return h(
    'footer',
    { class: 'page-foot' },
    h('h2', {}, 'What this file holds'),
    h(
      'p',
      { class: 'muted' },
      'Attention is stored as 8 bits per value with a float32 maximum per row (each value within row max / 510), gzipped, base64: about a third of float32. Nothing is fetched: the data, script and style are all in this file.',
    ),
    h('table', { class: 'cost' }, ...rows, h('tr', { class: 'total' }, h('td', {}, 'total'), h('td', { class: 'num' }, `${(total / 1e6).toFixed(2)} MB`))),
    h('p', { class: 'muted' }, 'Written by biomedclip-ts `biomedclip view` (docs/viewer.md).'),
  );
}
