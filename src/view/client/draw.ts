/**
 * Drawing primitives shared by the views: elements, crisp canvases on high-density screens, the crop,
 * a patch map over it in the colormap, and the colour bar that says what the colours mean. Plain
 * functions of their arguments: nothing here knows the page or its state.
 */

type Child = Node | string | null | undefined | false;

/** document.createElement with attributes (on* attributes become listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, unknown> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v as EventListener);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** A file's name without its folder and extension. */
export function baseName(file: string): string {
  return file
    .split(/[\\/]/)
    .pop()!
    .replace(/\.[^.]*$/, '');
}

/** A value with 3 significant digits, without exponent noise for the usual ranges. */
export function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1000 || a < 1e-3 ? v.toExponential(2) : v.toPrecision(3);
}

/** A canvas of `w` × `h` CSS pixels backed by device pixels, its context scaled to CSS pixels. */
export function hiDpiCanvas(w: number, hgt: number, cls?: string): HTMLCanvasElement {
  const c = h('canvas', { class: cls, width: Math.round(w * devicePixelRatio), height: Math.round(hgt * devicePixelRatio) });
  c.style.width = `${w}px`;
  c.style.height = `${hgt}px`;
  c.getContext('2d')!.scale(devicePixelRatio, devicePixelRatio);
  return c;
}

/** The crop's RGB bytes [S, S, 3] as a canvas to draw from. */
export function cropCanvas(rgb: Uint8Array, size: number): HTMLCanvasElement {
  const c = h('canvas', { width: size, height: size });
  const img = new ImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    img.data.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
    img.data[i * 4 + 3] = 255;
  }
  c.getContext('2d')!.putImageData(img, 0, 0);
  return c;
}

export interface MapStyle {
  lut: Uint8Array;
  /** The values drawn darkest (default 0) and brightest; values outside are clamped. */
  min?: number;
  max: number;
  /** Opacity at the top of the scale. */
  opacity: number;
  /** Overlays: low values more transparent, so the image shows through (default). Off for plain maps. */
  ramp?: boolean;
}

/** A [rows × cols] map as a tiny canvas in the colormap, alpha rising with the value (into `reuse` if given). */
export function mapCanvas(values: ArrayLike<number>, rows: number, cols: number, style: MapStyle, reuse?: HTMLCanvasElement): HTMLCanvasElement {
  const c = reuse ?? h('canvas', { width: cols, height: rows });
  const img = new ImageData(cols, rows);
  for (let i = 0; i < rows * cols; i++) {
    const t = scaled(values[i], style.min ?? 0, style.max);
    const k = Math.round(t * 255);
    img.data.set(style.lut.subarray(k * 3, k * 3 + 3), i * 4);
    img.data[i * 4 + 3] = Math.round(255 * style.opacity * (style.ramp === false ? 1 : 0.3 + 0.7 * t));
  }
  c.getContext('2d')!.putImageData(img, 0, 0);
  return c;
}

/**
 * Draws the crop, then the map over it (patches kept square unless `smooth`), into `size` CSS pixels of
 * `ctx`. The image is slightly desaturated under the map so the colours read as the map's.
 */
export function drawOverlay(ctx: CanvasRenderingContext2D, crop: HTMLCanvasElement, map: HTMLCanvasElement | null, size: number, smooth: boolean): void {
  ctx.save();
  ctx.clearRect(0, 0, size, size);
  ctx.imageSmoothingEnabled = true;
  ctx.filter = map ? 'saturate(0.35) brightness(0.92)' : 'none';
  ctx.drawImage(crop, 0, 0, size, size);
  ctx.filter = 'none';
  if (map) {
    ctx.imageSmoothingEnabled = smooth;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(map, 0, 0, size, size);
  }
  ctx.restore();
}

/** Faint patch-grid lines over a drawn map. */
export function drawGrid(ctx: CanvasRenderingContext2D, rows: number, cols: number, size: number): void {
  ctx.save();
  ctx.strokeStyle = 'rgba(255,255,255,0.18)';
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let i = 1; i < cols; i++) {
    const x = Math.round((i * size) / cols) + 0.5;
    ctx.moveTo(x, 0);
    ctx.lineTo(x, size);
  }
  for (let i = 1; i < rows; i++) {
    const y = Math.round((i * size) / rows) + 0.5;
    ctx.moveTo(0, y);
    ctx.lineTo(size, y);
  }
  ctx.stroke();
  ctx.restore();
}

/** `v` mapped from [min, max] onto [0, 1], clamped (0 for an empty range). */
export function scaled(v: number, min: number, max: number): number {
  return max > min ? Math.min(1, Math.max(0, (v - min) / (max - min))) : 0;
}

/** A horizontal colour bar from `min` to `max`, with what the colours mean. */
export function colorBar(lut: Uint8Array, min: number, max: number, label: string): HTMLElement {
  const bar = h('canvas', { class: 'colorbar-ramp', width: 256, height: 1 });
  const img = new ImageData(256, 1);
  for (let i = 0; i < 256; i++) {
    img.data.set(lut.subarray(i * 3, i * 3 + 3), i * 4);
    img.data[i * 4 + 3] = 255;
  }
  bar.getContext('2d')!.putImageData(img, 0, 0);
  return h(
    'div',
    { class: 'colorbar' },
    h('span', { class: 'colorbar-end' }, fmt(min)),
    bar,
    h('span', { class: 'colorbar-end' }, fmt(max)),
    h('span', { class: 'colorbar-label' }, label),
  );
}

/** The largest value of a map (0 for an empty one). */
export function maxOf(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, values[i]);
  return m;
}

export function minOf(values: ArrayLike<number>): number {
  let m = Infinity;
  for (let i = 0; i < values.length; i++) m = Math.min(m, values[i]);
  return values.length > 0 ? m : 0;
}
