/**
 * Head ablation, live: switch attention heads of either tower off (zero-ablation: the head's context is
 * 0; mean-ablation: its context is the mean over the input's positions, src/inspect/ablate.ts) and see every
 * label's logit and probability move. Each switch reruns the pass with the edits on the heads' `context`
 * hook points (the names read from the modules), against a clean pass run the same way.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ClipCore } from '../../api/core.js';
import { softmaxRow } from '../../api/scores.js';
import { fillTemplate } from '../../api/templates.js';
import { ablateHeadsInAll, type AblationMode } from '../../inspect/ablate.js';
import { attentionModule } from '../../inspect/probe.js';
import type { Tower } from '../../inspect/resume.js';
import { h } from '../../view/client/draw.js';
import type { InputImage } from './inputs.js';

/** "tower:layer:head" of every head switched off. */
type Switched = Set<string>;

interface Scores {
  logits: number[];
  probs: number[];
}

/** The logits of the image against each prompt, with the switched-off heads ablated. */
async function scoresWith(clip: ClipCore, image: InputImage, prompts: string[], off: Switched, mode: AblationMode): Promise<Scores> {
  const byLayer = new Map<string, number[]>(); // context hook name -> heads
  for (const key of off) {
    const [tower, layer, head] = key.split(':');
    const name = attentionModule(clip.model, tower as Tower, Number(layer)).context.name;
    byLayer.set(name, [...(byLayer.get(name) ?? []), Number(head)]);
  }
  const edits = [...byLayer].map(([pattern, heads]) => ({ pattern, fn: (x: tf.Tensor) => ablateHeadsInAll(x, heads, mode) }));
  const out = await clip.trace({ images: [image.bytes], texts: prompts }, { capture: [], edits });
  const logits = Array.from(out.get('outputs.logits_per_image')!.data);
  return { logits, probs: softmaxRow(logits) };
}

function headGrid(clip: ClipCore, tower: Tower, off: Switched, toggle: (key: string) => void): HTMLElement {
  const cfg = tower === 'image' ? clip.config.vision : clip.config.text;
  const rows = Array.from({ length: cfg.layers }, (_, layer) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, `${layer}`),
      ...Array.from({ length: cfg.heads }, (_, head) => {
        const key = `${tower}:${layer}:${head}`;
        return h(
          'td',
          {},
          h(
            'button',
            {
              type: 'button',
              class: 'head-switch',
              'aria-pressed': String(off.has(key)),
              'aria-label': `${tower} layer ${layer} head ${head}`,
              onclick: () => toggle(key),
            },
            String(head),
          ),
        );
      }),
    ),
  );
  return h('table', { class: 'head-grid' }, h('caption', {}, `${tower} tower: layer (rows) × head`), ...rows);
}

/** The panel for `image` and the labels; rebuilt by the explorer when its inputs change. */
export function ablationPanel(clip: ClipCore, image: InputImage, labels: string[], template: string, onError: (err: unknown) => void): HTMLElement {
  const prompts = labels.map((l) => fillTemplate(template, l));
  const off: Switched = new Set();
  let mode: AblationMode = 'zero';
  const table = h('div', { class: 'ablation-scores', 'aria-live': 'polite' });
  const grids = h('div', { class: 'head-grids' });
  let clean: Promise<Scores> | undefined;
  let run = 0;
  const refresh = async () => {
    const mine = ++run;
    clean ??= scoresWith(clip, image, prompts, new Set(), mode);
    const [base, now] = await Promise.all([clean, scoresWith(clip, image, prompts, off, mode)]);
    if (mine !== run) return; // a later switch is already being computed
    const rows = labels.map((label, i) => {
      const d = now.logits[i] - base.logits[i];
      return h(
        'tr',
        {},
        h('td', {}, label),
        h('td', { class: 'num' }, base.logits[i].toFixed(3)),
        h('td', { class: 'num' }, now.logits[i].toFixed(3)),
        h('td', { class: `num ${d < 0 ? 'down' : d > 0 ? 'up' : ''}` }, `${d >= 0 ? '+' : ''}${d.toFixed(3)}`),
        h('td', { class: 'num' }, `${(100 * base.probs[i]).toFixed(1)}% → ${(100 * now.probs[i]).toFixed(1)}%`),
      );
    });
    table.replaceChildren(
      h(
        'table',
        { class: 'scores' },
        h('thead', {}, h('tr', {}, h('th', {}, 'label'), h('th', {}, 'logit'), h('th', {}, 'ablated'), h('th', {}, 'change'), h('th', {}, 'probability'))),
        h('tbody', {}, ...rows),
      ),
      h('p', { class: 'hint' }, `${off.size} head(s) off (${mode}-ablation)`),
    );
  };
  const redraw = () => {
    // The grids are rebuilt: the switch that had the focus keeps it, so the keyboard can go on from there.
    const focused = grids.contains(document.activeElement) ? document.activeElement!.getAttribute('aria-label') : null;
    grids.replaceChildren(headGrid(clip, 'image', off, toggle), headGrid(clip, 'text', off, toggle));
    if (focused) grids.querySelector<HTMLElement>(`[aria-label="${focused}"]`)?.focus();
    refresh().catch(onError);
  };
  const toggle = (key: string) => {
    if (off.has(key)) off.delete(key);
    else off.add(key);
    redraw();
  };
  const modeSelect = h('select', { id: 'ablation-mode' }, h('option', { value: 'zero' }, 'zero'), h('option', { value: 'mean' }, 'mean')) as HTMLSelectElement;
  modeSelect.addEventListener('change', () => {
    mode = modeSelect.value as AblationMode;
    clean = undefined;
    redraw();
  });
  const reset = h('button', { type: 'button', class: 'button', onclick: () => (off.clear(), redraw()) }, 'All heads on');
  redraw();
  return h(
    'div',
    { class: 'ablation' },
    h(
      'p',
      { class: 'hint' },
      'Switch heads off to see how each label’s logit moves. Zero-ablation removes the head’s output; mean-ablation keeps its average and removes what depends on the token.',
    ),
    h('div', { class: 'controls' }, h('label', { for: 'ablation-mode' }, 'Ablation'), modeSelect, reset),
    table,
    grids,
  );
}
