/**
 * A minimal RGB canvas for the PNGs we draw (evaluation charts, explanation heatmaps): rectangles, lines
 * and bitmap text, encoded to PNG with pngjs. Enough for a confusion matrix, a reliability diagram and a
 * heatmap panel; small enough to read.
 */
import { PNG } from 'pngjs';
import { ADVANCE, glyph, textWidth } from './font.js';

export type Rgb = readonly [number, number, number];

export const BLACK: Rgb = [0, 0, 0];
export const WHITE: Rgb = [255, 255, 255];
export const GREY: Rgb = [150, 150, 150];

export interface TextOptions {
  /** Pixels per font pixel (default 2: glyphs 10×14). */
  scale?: number;
  color?: Rgb;
  /** 'left' (default): x is the left edge; 'right': x is the right edge; 'center'. */
  align?: 'left' | 'right' | 'center';
  /** Rotate 90° counter-clockwise (reads bottom to top); then (x, y) is the bottom-left of the text. */
  vertical?: boolean;
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

  strokeRect(x: number, y: number, w: number, h: number, color: Rgb, thickness = 1): void {
    this.fillRect(x, y, w, thickness, color);
    this.fillRect(x, y + h - thickness, w, thickness, color);
    this.fillRect(x, y, thickness, h, color);
    this.fillRect(x + w - thickness, y, thickness, h, color);
  }

  /** A line from (x0, y0) to (x1, y1) as `thickness`-wide squares stepped along it; `dash` px on/off. */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, thickness = 1, dash = 0): void {
    const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    for (let s = 0; s <= steps; s++) {
      if (dash > 0 && Math.floor(s / dash) % 2 === 1) continue;
      const t = s / steps;
      this.fillRect(x0 + t * (x1 - x0) - thickness / 2, y0 + t * (y1 - y0) - thickness / 2, thickness, thickness, color);
    }
  }

  /** Draws `text` with its top at y (or, vertical, its baseline-side bottom at y). */
  text(x: number, y: number, text: string, opts: TextOptions = {}): void {
    const scale = opts.scale ?? 2;
    const color = opts.color ?? BLACK;
    const width = textWidth(text) * scale;
    const shift = opts.align === 'right' ? width : opts.align === 'center' ? width / 2 : 0;
    [...text].forEach((ch, i) => {
      glyph(ch).forEach((row, r) => {
        for (let c = 0; c < row.length; c++) {
          if (row[c] !== '#') continue;
          const along = i * ADVANCE + c; // font pixels along the text
          if (opts.vertical) this.fillRect(x + r * scale, y + shift - (along + 1) * scale, scale, scale, color);
          else this.fillRect(x - shift + along * scale, y + r * scale, scale, scale, color);
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

/** `text` cut to at most `max` characters, ending in '..' when cut. */
export function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, max - 2).join('') + '..';
}
