/**
 * The keyboard: arrows move the layer and head of the tower under the pointer (`focus`), `m` toggles the
 * head mean, `c` and Esc set and unpin the [CLS] query, `[` and `]` step through the images. The header
 * lists the same keys from `KEYS_HELP`.
 */
import { stepHead, type Viewer } from './state.js';

/** The keys, as the header shows them: [keys, what they do]. */
export const KEYS_HELP: Array<[string[], string]> = [
  [['↑', '↓'], 'layer'],
  [['←', '→'], 'head'],
  [['m'], 'head mean'],
  [['c'], '[CLS] as query'],
  [['Esc'], 'unpin'],
  [['[', ']'], 'previous / next image'],
];

/** The document's keydown listener for viewer `v`. */
export function keyHandler(v: Viewer): (e: KeyboardEvent) => void {
  return (e) => {
    const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLSelectElement;
    if (typing || e.altKey || e.ctrlKey || e.metaKey) return;
    const { store } = v;
    const s = store.state;
    const image = s.focus === 'image';
    const tower = image ? v.model.vision : v.model.text;
    const layer = image ? s.layer : s.textLayer;
    const head = image ? s.head : s.textHead;
    const set = (l: number, hd: number) => store.update(image ? { layer: l, head: hd } : { textLayer: l, textHead: hd });
    const clamp = (l: number) => Math.min(tower.layers - 1, Math.max(0, l));
    const actions: Record<string, () => void> = {
      ArrowUp: () => set(clamp(layer - 1), head),
      ArrowDown: () => set(clamp(layer + 1), head),
      ArrowLeft: () => set(layer, stepHead(head, tower.heads, -1)),
      ArrowRight: () => set(layer, stepHead(head, tower.heads, +1)),
      m: () => set(layer, head < 0 ? 0 : -1),
      c: () => store.update({ query: 0, pinned: true }),
      Escape: () => store.update({ query: 0, pinned: false }),
      '[': () => void v.showImage(s.image - 1),
      ']': () => void v.showImage(s.image + 1),
    };
    const action = actions[e.key];
    if (!action) return;
    e.preventDefault();
    // A button clicked earlier keeps its focus ring and would look selected after the keys moved on.
    if (document.activeElement instanceof HTMLButtonElement) document.activeElement.blur();
    action();
  };
}
