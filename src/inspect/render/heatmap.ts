/**
 * An explanation as a picture: the S × S crop the model saw, beside the same crop with the patch map
 * upsampled (bilinear, as F.interpolate(mode='bilinear') does: src/image/upsample.ts), min-max normalised and blended in
 * viridis; under them a legend (method, logit, text, the colour bar with the map's raw minimum and
 * maximum) and, for methods with a text map, the tokens coloured by their relevance. The canvas, font and
 * PNG encoding are src/draw/'s.
 */
import { ADVANCE, GLYPH_HEIGHT } from '../../draw/font.js';
import { BLACK, Raster, WHITE, type Rgb } from '../../draw/raster.js';
import { upsampleBilinear } from '../../image/upsample.js';
import { viridis } from './colormap.js';

export interface HeatmapPicture {
  /** [S, S, 3] RGB bytes of the preprocessed crop. */
  crop: Uint8Array;
  size: number;
  grid: [number, number];
  /** grid[0] · grid[1] raw values, row-major. */
  imageMap: ArrayLike<number>;
  /** First legend line, e.g. "relevance  logit 21.37". */
  title: string;
  /** The text explained (second legend line). */
  text: string;
  tokens?: string[];
  /** One value per token; [CLS] and [SEP] are drawn gray and the others coloured relative to each other
   * (the pooled [CLS] holds its own identity share of relevance and would darken every word). */
  textMap?: ArrayLike<number> | null;
  /** A line drawn in red at the bottom (the demo model's warning). */
  warning?: string;
}

const MARGIN = 8;
const SCALE = 2; // legend text at 10 × 14 px per character
const LINE = (GLYPH_HEIGHT + 3) * SCALE;
const CHAR = ADVANCE * SCALE;
/** How much of the colour map shows over the crop. */
const ALPHA = 0.5;

/** min-max normalisation to [0, 1]; a constant map becomes all zeros (and the legend says so). */
export function normalise(values: ArrayLike<number>): { unit: Float32Array; min: number; max: number } {
  const arr = Array.from(values);
  const [min, max] = [Math.min(...arr), Math.max(...arr)];
  const unit = Float32Array.from(arr, (v) => (max > min ? (v - min) / (max - min) : 0));
  return { unit, min, max };
}

const fmt = (v: number) => ((Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4) || v === 0 ? v.toPrecision(3) : v.toExponential(2));

/** Words of `text` in lines of at most `chars` characters (a word longer than a line is cut). */
function wrap(text: string, chars: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + 1 + word.length <= chars) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word.slice(0, chars));
  }
  return lines;
}

const SPECIAL = new Set(['[CLS]', '[SEP]', '[PAD]']);
const GRAY: Rgb = [200, 200, 200];

/** Splits tokens into lines of at most `width` pixels. */
function tokenLines(tokens: string[], width: number): number[][] {
  const lines: number[][] = [[]];
  let used = 0;
  tokens.forEach((t, i) => {
    const w = (t.length + 1) * CHAR;
    if (used + w > width && lines[lines.length - 1].length > 0) {
      lines.push([]);
      used = 0;
    }
    lines[lines.length - 1].push(i);
    used += w;
  });
  return lines;
}

/** The crop at (MARGIN, MARGIN) and, right of it, the crop blended with the upsampled map. */
function drawPanels(canvas: Raster, p: HeatmapPicture, unit: Float32Array): void {
  const s = p.size;
  const heat = upsampleBilinear(unit, p.grid[0], p.grid[1], s);
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      const src = (y * s + x) * 3;
      const color = viridis(heat[y * s + x]);
      for (let c = 0; c < 3; c++) {
        canvas.data[((MARGIN + y) * canvas.width + MARGIN + x) * 3 + c] = p.crop[src + c];
        canvas.data[((MARGIN + y) * canvas.width + 2 * MARGIN + s + x) * 3 + c] = Math.round((1 - ALPHA) * p.crop[src + c] + ALPHA * color[c]);
      }
    }
  }
}

/** The colour bar at height y: the map's raw minimum on the left, maximum on the right. */
function drawColourBar(canvas: Raster, y: number, min: number, max: number): void {
  const inner = canvas.width - 2 * MARGIN;
  const [lo, hi] = max > min ? [fmt(min), fmt(max)] : [`constant ${fmt(min)}`, ''];
  const barX = MARGIN + (lo.length + 1) * CHAR;
  const barW = inner - (lo.length + hi.length + 2) * CHAR;
  canvas.text(MARGIN, y, lo, { scale: SCALE });
  for (let x = 0; x < barW; x++) canvas.fillRect(barX + x, y, 1, GLYPH_HEIGHT * SCALE, viridis(x / Math.max(1, barW - 1)));
  canvas.text(barX + barW + CHAR, y, hi, { scale: SCALE });
}

/** The tokens in boxes coloured by relevance, from height y, one line per entry of `lines`; returns the next y. */
function drawTokens(canvas: Raster, tokens: string[], textMap: ArrayLike<number>, lines: number[][], y: number): number {
  const words = tokens.map((t, i) => (SPECIAL.has(t) ? null : textMap[i]));
  const t = normalise(words.filter((v): v is number => v !== null));
  for (const line of lines) {
    let x = MARGIN;
    for (const i of line) {
      const v = words[i];
      const color = v === null ? GRAY : viridis(t.max > t.min ? (v - t.min) / (t.max - t.min) : 0);
      const w = tokens[i].length * CHAR + SCALE * 2;
      canvas.fillRect(x, y - SCALE * 2, w, LINE - SCALE, color);
      const luminance = 0.2126 * color[0] + 0.7152 * color[1] + 0.0722 * color[2];
      canvas.text(x + SCALE * 2, y, tokens[i], { scale: SCALE, color: luminance > 128 ? BLACK : WHITE });
      x += w + CHAR;
    }
    y += LINE;
  }
  return y;
}

export function renderHeatmap(p: HeatmapPicture): Raster {
  const width = 3 * MARGIN + 2 * p.size;
  const maxChars = Math.floor((width - 2 * MARGIN) / CHAR);
  const title = p.title.length > maxChars ? `${p.title.slice(0, maxChars - 3)}...` : p.title;
  const textLines = wrap(`"${p.text}"`, maxChars);
  const warningLines = p.warning ? wrap(p.warning, maxChars) : [];
  const tokenRows = p.tokens && p.textMap ? tokenLines(p.tokens, width - 2 * MARGIN) : [];
  const height = 2 * MARGIN + p.size + (2 + textLines.length + tokenRows.length + warningLines.length) * LINE + 3 * MARGIN;
  const canvas = new Raster(width, height);
  const { unit, min, max } = normalise(p.imageMap);
  drawPanels(canvas, p, unit);
  let y = 2 * MARGIN + p.size;
  for (const line of [title, ...textLines]) {
    canvas.text(MARGIN, y, line, { scale: SCALE });
    y += LINE;
  }
  drawColourBar(canvas, y, min, max);
  y += LINE + 2 * MARGIN;
  if (p.tokens && p.textMap) y = drawTokens(canvas, p.tokens, p.textMap, tokenRows, y);
  for (const line of warningLines) {
    canvas.text(MARGIN, y, line, { scale: SCALE, color: [200, 0, 0] });
    y += LINE;
  }
  return canvas;
}
