/**
 * A minimal RGB canvas for the explanation heatmaps (src/inspect/render/heatmap.ts): filled rectangles
 * and bitmap text, encoded to PNG with pngjs. A heatmap is pixels (the crop, the blended map), so it stays
 * a PNG; the evaluation report's charts are shapes and text and are SVG (src/eval/svg.ts).
 */
import { PNG } from 'pngjs';
import { ADVANCE, glyph } from './font.js';

export type Rgb = readonly [number, number, number];

export const BLACK: Rgb = [0, 0, 0];
export const WHITE: Rgb = [255, 255, 255];

export interface TextOptions {
  /** Pixels per font pixel (default 2: glyphs 10×14). */
  scale?: number;
  color?: Rgb;
}

export class Raster {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = WHITE,
  ) {
    this.data = new Uint8Array(width * height * 3);
    this.fillRect(0, 0, width, height, background);
  }

  /** Fills [x, x+w) × [y, y+h), clipped to the canvas. */
  fillRect(x: number, y: number, w: number, h: number, color: Rgb): void {
    const x0 = Math.max(0, Math.round(x));
    const y0 = Math.max(0, Math.round(y));
    const x1 = Math.min(this.width, Math.round(x + w));
    const y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) this.data.set(color, (yy * this.width + xx) * 3);
    }
  }

  /** Draws `text` with its top-left corner at (x, y). */
  text(x: number, y: number, text: string, opts: TextOptions = {}): void {
    const scale = opts.scale ?? 2;
    const color = opts.color ?? BLACK;
    [...text].forEach((ch, i) => {
      glyph(ch).forEach((row, r) => {
        for (let c = 0; c < row.length; c++) {
          if (row[c] === '#') this.fillRect(x + (i * ADVANCE + c) * scale, y + r * scale, scale, scale, color);
        }
      });
    });
  }

  toPng(): Buffer {
    const png = new PNG({ width: this.width, height: this.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
    png.data = Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength);
    return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
  }
}
