/**
 * The selectors the towers share: a row of buttons choosing one value (a layer, a head), the current one
 * pressed. They hold no state: `pick` is called with the chosen value, the caller updates its state, and
 * `sync` re-marks the pressed button when that state changes (from the keys, or another view).
 */
import { h } from './draw.js';

export interface Segmented {
  node: HTMLElement;
  sync: (current: number) => void;
}

export function segmented(label: string, values: Array<{ value: number; text: string; title: string }>, pick: (v: number) => void): Segmented {
  const buttons = values.map((v) => h('button', { type: 'button', class: 'seg', title: v.title, 'data-value': v.value, onclick: () => pick(v.value) }, v.text));
  const node = h(
    'div',
    { class: 'segmented', role: 'group', 'aria-label': label },
    h('span', { class: 'seg-label' }, label),
    h('div', { class: 'seg-buttons' }, ...buttons),
  );
  const sync = (current: number) => buttons.forEach((b) => b.setAttribute('aria-pressed', String(Number(b.dataset.value) === current)));
  return { node, sync };
}

export function layerButtons(layers: number, pick: (v: number) => void): Segmented {
  return segmented(
    'Layer',
    [...Array(layers).keys()].map((l) => ({ value: l, text: String(l), title: `layer ${l}` })),
    pick,
  );
}

/** Heads 0 … H-1, then their mean (-1). */
export function headButtons(heads: number, pick: (v: number) => void): Segmented {
  const values = [...Array(heads).keys()].map((hd) => ({ value: hd, text: String(hd), title: `head ${hd}` }));
  return segmented('Head', [...values, { value: -1, text: 'mean', title: 'mean over heads (m)' }], pick);
}
