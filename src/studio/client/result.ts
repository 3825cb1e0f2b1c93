/**
 * The explorer's scores table and its "Download result (JSON)" button (the result itself: ../result.ts).
 */
import type { LabelScore } from '../../api/scores.js';
import { h } from '../../view/client/draw.js';
import type { ExplorerResult } from '../result.js';

/** The zero-shot scores as a table: label, probability (with a bar) and logit. */
export function scoresTable(scores: LabelScore[]): HTMLElement {
  const rows = scores.map((s) =>
    h(
      'tr',
      {},
      h('td', { class: 'label' }, s.label),
      h(
        'td',
        { class: 'prob' },
        h('span', { class: 'prob-bar', style: `width: ${(100 * s.probability).toFixed(1)}%` }),
        h('span', {}, `${(100 * s.probability).toFixed(1)}%`),
      ),
      h('td', { class: 'num' }, s.logit.toFixed(3)),
    ),
  );
  return h(
    'table',
    { class: 'scores', 'aria-label': 'Zero-shot scores' },
    h('thead', {}, h('tr', {}, h('th', {}, 'label'), h('th', {}, 'probability'), h('th', {}, 'logit'))),
    h('tbody', {}, ...rows),
  );
}

/** A button that saves `result()` as JSON (a Blob URL: nothing leaves the page). */
export function downloadResultButton(result: () => ExplorerResult | undefined): HTMLButtonElement {
  return h(
    'button',
    {
      type: 'button',
      class: 'button',
      id: 'download-result',
      onclick: () => {
        const r = result();
        if (!r) return;
        const url = URL.createObjectURL(new Blob([JSON.stringify(r, null, 2)], { type: 'application/json' }));
        const a = h('a', { href: url, download: `${r.images[0].file.replace(/\.[^.]*$/, '')}.biomedclip.json` });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
      },
    },
    'Download result (JSON)',
  );
}
