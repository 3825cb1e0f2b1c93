/**
 * What the sections draw from and how it changes. `Viewer` is everything a section reads, handed to it
 * as an argument: the model's shape, the images and texts with their attention, the explanations, and a
 * `Store` of the page's state (which image, which query token, which layer and head of each tower) whose
 * `update` merges a change and re-renders the views that registered for the changed keys. The viewer
 * page fills a `Viewer` from its embedded data (main.ts); another page can fill one its own way.
 */
import type { ExplainRecord, LabelScore, LensRecord, PageData } from '../contract.js';
import type { AttentionMaps } from './attention.js';
import { maxOf, minOf } from './draw.js';

/** The model's name, warning and the two towers' shapes. */
export type ModelInfo = PageData['model'];

export interface ShownImage {
  /** The image as given on the command line. */
  name: string;
  /** The crop the model saw. */
  crop: HTMLCanvasElement;
  /** Undefined until decoded: the host decodes an image's attention when it is first shown. */
  attention?: AttentionMaps;
  lens: LensRecord | null;
  /** Zero-shot scores, most probable first; null without labels. */
  scores: LabelScore[] | null;
}

export interface ShownText {
  text: string;
  /** WordPieces with [CLS] and [SEP]. */
  tokens: string[];
  /** Undefined until decoded (after the first image is drawn). */
  attention?: AttentionMaps;
}

export interface Viewer {
  model: ModelInfo;
  /** The colormap: 256 RGB entries. */
  lut: Uint8Array;
  /** Methods explained for each image-text pair, in display order. */
  methods: string[];
  images: ShownImage[];
  texts: ShownText[];
  /** Objects of `explain --json`, for every image and text explained. */
  explanations: ExplainRecord[];
  store: Store<ViewerState>;
  /** Makes image `i` the active one once its attention is ready (ignored out of range). */
  showImage(i: number): Promise<void>;
}

export interface ViewerState {
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

/** The first view: the first image, [CLS] as query, each tower's last layer and the head mean. */
export function initialState(model: ModelInfo): ViewerState {
  return {
    image: 0,
    query: 0,
    pinned: false,
    layer: model.vision.layers - 1,
    head: -1,
    textLayer: model.text.layers - 1,
    textHead: -1,
    textQuery: null,
    focus: 'image',
    opacity: 0.8,
    smooth: false,
    scale: 'range',
  };
}

/** A state object and the renders that depend on its keys. */
export class Store<S extends object> {
  private readonly listeners: Array<{ keys: Array<keyof S>; render: () => void }> = [];

  constructor(readonly state: S) {}

  /** Registers `render` to run whenever one of `keys` changes (and once now). */
  watch(keys: Array<keyof S>, render: () => void): void {
    this.listeners.push({ keys, render });
    render();
  }

  update(change: Partial<S>): void {
    const changed = (Object.keys(change) as Array<keyof S>).filter((k) => this.state[k] !== change[k]);
    if (changed.length === 0) return;
    Object.assign(this.state, change);
    for (const l of this.listeners) if (l.keys.some((k) => changed.includes(k))) l.render();
  }
}

/** The head order of the selectors and arrow keys: 0 … H-1, then the mean (-1), as in the model view. */
export function stepHead(head: number, heads: number, delta: number): number {
  const order = [...Array(heads).keys(), -1];
  const i = Math.min(order.length - 1, Math.max(0, order.indexOf(head) + delta));
  return order[i];
}

/** The colour range of an attention map under a scale. */
export function mapRange(values: ArrayLike<number>, scale: ViewerState['scale']): [number, number] {
  return [scale === 'range' ? minOf(values) : 0, maxOf(values)];
}

/** "patch (r, c)" or "[CLS]" for an image query token, on a grid `cols` patches wide. */
export function queryName(query: number, cols: number): string {
  if (query === 0) return '[CLS]';
  return `patch (${Math.floor((query - 1) / cols)}, ${(query - 1) % cols})`;
}
