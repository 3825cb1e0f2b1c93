/**
 * The page's state (which image, which query token, which layer and head of each tower) and the one way to
 * change it: `update` merges a change and re-renders the views that registered for the changed keys.
 */

interface DecodedImage {
  crop: HTMLCanvasElement;
  attention: Attention;
}

interface ViewerState {
  /** Active image (the strip at the top); its explanations and lens are shown. */
  image: number;
  /** Image query token: 0 = [CLS], 1 + cols · r + c = patch (r, c). */
  query: number;
  /** A clicked query stays when the pointer moves on. */
  pinned: boolean;
  layer: number;
  /** -1: the mean over heads. */
  head: number;
  textLayer: number;
  textHead: number;
  /** The query token hovered in a head view (its lines alone are drawn), or null: every token's. */
  textQuery: { text: number; token: number } | null;
  /** The tower the arrow keys move. */
  focus: 'image' | 'text';
  opacity: number;
  smooth: boolean;
  /** Colour scale of attention maps: each map's own min … max (shape), or 0 … max (amount). */
  scale: 'range' | 'zero';
}

type StateKey = keyof ViewerState;

const viewer = {
  data: undefined as unknown as PageData,
  lut: new Uint8Array(0) as Uint8Array<ArrayBuffer>,
  /** Every image's crop, decoded at the start (small); attention is decoded when an image is first shown. */
  crops: [] as HTMLCanvasElement[],
  images: [] as Array<DecodedImage | undefined>,
  texts: [] as Attention[],
  state: undefined as unknown as ViewerState,
  listeners: [] as Array<{ keys: StateKey[]; render: () => void }>,
};

/** Registers `render` to run whenever one of `keys` changes (and once now). */
function watch(keys: StateKey[], render: () => void): void {
  viewer.listeners.push({ keys, render });
  render();
}

function update(change: Partial<ViewerState>): void {
  const changed = (Object.keys(change) as StateKey[]).filter((k) => viewer.state[k] !== change[k]);
  if (changed.length === 0) return;
  Object.assign(viewer.state, change);
  for (const l of viewer.listeners) if (l.keys.some((k) => changed.includes(k))) l.render();
}

/** The head order of the selectors and arrow keys: 0 … H-1, then the mean (-1), as in the model view. */
function stepHead(head: number, heads: number, delta: number): number {
  const order = [...Array(heads).keys(), -1];
  const i = Math.min(order.length - 1, Math.max(0, order.indexOf(head) + delta));
  return order[i];
}

/**
 * A row of buttons choosing one value (layers, heads): the current one pressed. `pick` is called with the
 * value; the caller updates the state, and `sync` re-marks the pressed button.
 */
function segmented(
  label: string,
  values: Array<{ value: number; text: string; title: string }>,
  pick: (v: number) => void,
): { node: HTMLElement; sync: (v: number) => void } {
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

function layerButtons(layers: number, pick: (v: number) => void) {
  return segmented(
    'Layer',
    [...Array(layers).keys()].map((l) => ({ value: l, text: String(l), title: `layer ${l}` })),
    pick,
  );
}

function headButtons(heads: number, pick: (v: number) => void) {
  const values = [...Array(heads).keys()].map((hd) => ({ value: hd, text: String(hd), title: `head ${hd}` }));
  return segmented('Head', [...values, { value: -1, text: 'mean', title: 'mean over heads (m)' }], pick);
}

/** The colour range of an attention map under the current scale. */
function mapRange(values: ArrayLike<number>): [number, number] {
  return [viewer.state.scale === 'range' ? minOf(values) : 0, maxOf(values)];
}

/** "patch (r, c)" or "[CLS]" for an image query token. */
function queryName(query: number): string {
  if (query === 0) return '[CLS]';
  const cols = viewer.data.model.vision.grid[1];
  return `patch (${Math.floor((query - 1) / cols)}, ${(query - 1) % cols})`;
}
