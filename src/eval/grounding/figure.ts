/**
 * The report's picture of one method: its best and worst rows by AUROC, each the crop the model saw
 * with the method's map over it (upsampled, min-max normalised, viridis, half transparent, as `explain
 * --out` draws it), the target region's outline in red, and a white cross on the map's maximum (the
 * pointing game's point), captioned with the row, its measures and its text. A PNG (src/draw), not an
 * SVG like the other reports' charts: it is mostly pixels.
 */
import { ADVANCE, GLYPH_HEIGHT } from '../../draw/font.js';
import { Raster, type Rgb } from '../../draw/raster.js';
import { viridis } from '../../inspect/render/colormap.js';
import type { Region } from './region.js';
import type { RowMeasures } from './measures.js';
import { upsampleBilinear } from './upsample.js';

export interface FigureTile {
  /** The row's index (rows.csv, maps.npy). */
  row: number;
  text: string;
  /** [S, S, 3] RGB crop. */
  crop: Uint8Array;
  /** grid × grid raw map. */
  map: Float32Array;
  grid: number;
  region: Region;
  measures: RowMeasures;
}

const MARGIN = 8;
const SCALE = 2;
const CHAR = ADVANCE * SCALE;
const LINE = (GLYPH_HEIGHT + 3) * SCALE;
const ALPHA = 0.5;
const RED: Rgb = [230, 20, 20];
const CAPTION_LINES = 4;

const f3 = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));

/** `text` in lines of at most `chars` characters, at most `max` lines, the last cut with '...'. */
function wrap(text: string, chars: number, max: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + word.length <= chars) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word.slice(0, chars));
  }
  if (lines.length > max) lines.splice(max - 1, lines.length, `${lines[max - 1].slice(0, chars - 3)}...`);
  return lines;
}

/** The crop with the map blended over it, the region's outline and the maximum's cross, at (x, y). */
function drawTile(canvas: Raster, t: FigureTile, x: number, y: number): void {
  const s = t.region.size;
  const heat = upsampleBilinear(t.map, t.grid, t.grid, s);
  let [min, max, best] = [Infinity, -Infinity, 0];
  heat.forEach((v, i) => {
    min = Math.min(min, v);
    if (v > max) [max, best] = [v, i];
  });
  const put = (px: number, py: number, c: Rgb) => {
    if (px >= 0 && py >= 0 && px < s && py < s) canvas.data.set(c, ((y + py) * canvas.width + x + px) * 3);
  };
  for (let py = 0; py < s; py++) {
    for (let px = 0; px < s; px++) {
      const [r, g, b] = viridis(max > min ? (heat[py * s + px] - min) / (max - min) : 0);
      const src = (py * s + px) * 3;
      const blend = (crop: number, map: number) => Math.round((1 - ALPHA) * crop + ALPHA * map);
      put(px, py, [blend(t.crop[src], r), blend(t.crop[src + 1], g), blend(t.crop[src + 2], b)]);
    }
  }
  const inside = (px: number, py: number) => px >= 0 && py >= 0 && px < s && py < s && t.region.inside[py * s + px] === 1;
  for (let py = 0; py < s; py++) {
    for (let px = 0; px < s; px++) {
      // A region pixel with a neighbour outside (or on the crop's edge) is on the outline; drawn 2 px wide.
      if (inside(px, py) && !(inside(px - 1, py) && inside(px + 1, py) && inside(px, py - 1) && inside(px, py + 1))) {
        put(px, py, RED);
        put(px + 1, py, RED);
        put(px, py + 1, RED);
      }
    }
  }
  const [bx, by] = [best % s, Math.floor(best / s)];
  for (let d = -6; d <= 6; d++) {
    for (const [cx, cy] of [
      [bx + d, by],
      [bx, by + d],
    ])
      put(cx, cy, [255, 255, 255]);
  }
}

/** Lines under a tile: row and AUROC, CNR and the pointing game, then the text. */
function caption(t: FigureTile, chars: number): string[] {
  const m = t.measures;
  return [`row ${t.row}  AUROC ${f3(m.auroc)}`, `CNR ${f3(m.cnr)}  ${m.hit ? 'hit' : 'miss'}`, ...wrap(`"${t.text}"`, chars, CAPTION_LINES - 2)];
}

/** The figure: title lines, then the best tiles and the worst tiles, each set under its own heading. */
export function groundingFigure(title: string[], best: FigureTile[], worst: FigureTile[], warning?: string): Buffer {
  const s = (best[0] ?? worst[0])?.region.size ?? 224;
  const columns = Math.max(3, best.length, worst.length); // room for the title even with few rows
  const width = MARGIN + columns * (s + MARGIN);
  const chars = Math.floor((width - 2 * MARGIN) / CHAR);
  const tileChars = Math.floor(s / CHAR);
  const head = [...title.flatMap((t) => wrap(t, chars, 2))];
  const warn = warning ? wrap(warning, chars, 3) : [];
  const band = LINE + s + MARGIN + CAPTION_LINES * LINE + MARGIN;
  const sets = [
    ['best (highest AUROC)', best],
    ['worst (lowest AUROC)', worst],
  ] as const;
  const height = MARGIN + (head.length + warn.length) * LINE + MARGIN + sets.length * band;
  const canvas = new Raster(width, height);
  let y = MARGIN;
  for (const line of head) {
    canvas.text(MARGIN, y, line, { scale: SCALE });
    y += LINE;
  }
  for (const line of warn) {
    canvas.text(MARGIN, y, line, { scale: SCALE, color: [200, 0, 0] });
    y += LINE;
  }
  y += MARGIN;
  for (const [heading, tiles] of sets) {
    canvas.text(MARGIN, y, tiles.length > 0 ? heading : `${heading}: no rows`, { scale: SCALE });
    tiles.forEach((t, i) => {
      const x = MARGIN + i * (s + MARGIN);
      drawTile(canvas, t, x, y + LINE);
      caption(t, tileChars).forEach((line, k) => canvas.text(x, y + LINE + s + MARGIN + k * LINE, line, { scale: SCALE }));
    });
    y += band;
  }
  return canvas.toPng();
}
