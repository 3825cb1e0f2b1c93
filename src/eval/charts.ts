/**
 * The two pictures of a zero-shot report. The confusion matrix shades each cell by the share of its row
 * (so a class's recall is its diagonal shade, whatever the class sizes) and prints the count and that
 * share. The reliability diagram draws each confidence bin's accuracy as a bar against the diagonal of
 * perfect calibration, the gap to the bin's mean confidence in red, and how many items each bin holds.
 */
import type { CalibrationBin } from './calibration.js';
import { LINE_HEIGHT, textWidth } from '../draw/font.js';
import { BLACK, clip, GREY, Raster, WHITE, type Rgb } from '../draw/raster.js';

const S = 2; // font scale: 10×14 px glyphs
const LABEL_CHARS = 24;
const BLUE: Rgb = [31, 119, 180];
const RED: Rgb = [214, 39, 40];

/** White → dark blue as `t` goes 0 → 1. */
function shade(t: number): Rgb {
  const lerp = (a: number, b: number) => Math.round(a + (b - a) * Math.min(1, Math.max(0, t)));
  return [lerp(247, 8), lerp(251, 48), lerp(255, 107)];
}

export function confusionPng(classes: string[], counts: number[][], title: string[]): Buffer {
  const k = classes.length;
  const cell = k <= 8 ? 72 : k <= 20 ? 40 : 20;
  const labels = classes.map((c) => clip(c, LABEL_CHARS));
  const labelPx = Math.max(...labels.map((l) => textWidth(l))) * S + 12;
  const titlePx = title.length * LINE_HEIGHT * S + 12;
  const left = 16 + LINE_HEIGHT * S + labelPx;
  const top = titlePx + LINE_HEIGHT * S + labelPx;
  const img = new Raster(Math.max(left + k * cell + 24, Math.max(...title.map((t) => textWidth(t))) * S + 32), top + k * cell + 24);
  title.forEach((t, i) => img.text(16, 8 + i * LINE_HEIGHT * S, t, { scale: S }));
  img.text(left + (k * cell) / 2, titlePx, 'predicted class', { scale: S, align: 'center' });
  img.text(12, top + (k * cell) / 2, 'true class', { scale: S, vertical: true, align: 'center' });
  labels.forEach((l, c) => {
    img.text(left - 8, top + c * cell + cell / 2 - 7, l, { scale: S, align: 'right' }); // row labels
    img.text(left + c * cell + cell / 2 - 7, top - 8, l, { scale: S, vertical: true }); // column labels
  });
  counts.forEach((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => {
      const share = total > 0 ? count / total : 0;
      const x = left + p * cell;
      const y = top + t * cell;
      img.fillRect(x, y, cell, cell, shade(share));
      const ink = share > 0.5 ? WHITE : BLACK;
      if (cell >= 40) img.text(x + cell / 2, y + cell / 2 - (cell >= 72 ? 16 : 7), String(count), { scale: S, color: ink, align: 'center' });
      if (cell >= 72) img.text(x + cell / 2, y + cell / 2 + 4, `${Math.round(share * 100)}%`, { scale: S, color: ink, align: 'center' });
    });
  });
  img.strokeRect(left, top, k * cell, k * cell, GREY);
  return img.toPng();
}

export function reliabilityPng(bins: CalibrationBin[], title: string[]): Buffer {
  const plot = 400;
  const titlePx = title.length * LINE_HEIGHT * S + 16;
  const left = 90;
  const top = titlePx + 10;
  const histogram = 80; // strip under the plot: share of items per bin
  const xTitle = 'confidence (probability of the predicted class)';
  const widest = Math.max(...[...title, xTitle].map((t) => textWidth(t))) * S;
  const img = new Raster(Math.max(left + plot + 40, widest + 32), top + plot + histogram + 90);
  title.forEach((t, i) => img.text(16, 8 + i * LINE_HEIGHT * S, t, { scale: S }));
  const x = (v: number) => left + v * plot;
  const y = (v: number) => top + (1 - v) * plot;
  for (let g = 0; g <= 5; g++) {
    const v = g / 5;
    img.line(x(v), top, x(v), top + plot, [230, 230, 230]);
    img.line(left, y(v), left + plot, y(v), [230, 230, 230]);
    img.text(left - 8, y(v) - 7, v.toFixed(1), { scale: S, align: 'right' });
    img.text(x(v), top + plot + histogram + 10, v.toFixed(1), { scale: S, align: 'center' });
  }
  const most = Math.max(...bins.map((b) => b.count));
  const width = plot / bins.length;
  bins.forEach((b, i) => {
    if (b.count === 0 || b.accuracy === null || b.confidence === null) return;
    const x0 = left + i * width;
    img.fillRect(x0 + 1, y(b.accuracy), width - 2, y(0) - y(b.accuracy), BLUE);
    const [lo, hi] = b.accuracy < b.confidence ? [b.accuracy, b.confidence] : [b.confidence, b.accuracy];
    img.strokeRect(x0 + 1, y(hi), width - 2, Math.max(2, y(lo) - y(hi)), RED, 2);
    const h = (b.count / most) * (histogram - 24);
    img.fillRect(x0 + 1, top + plot + histogram - h, width - 2, h, GREY);
  });
  img.line(x(0), y(0), x(1), y(1), BLACK, 2, 6); // perfect calibration
  img.strokeRect(left, top, plot, plot, BLACK);
  img.text(Math.max(16 + widest / 2, left + plot / 2), top + plot + histogram + 34, xTitle, { scale: S, align: 'center' });
  img.text(18, top + plot / 2, 'accuracy', { scale: S, vertical: true, align: 'center' });
  img.text(left + 8, top + 8, 'bars: accuracy per bin', { scale: S, color: BLUE });
  img.text(left + 8, top + 8 + LINE_HEIGHT * S, 'red: gap to mean confidence', { scale: S, color: RED });
  img.text(left, top + plot + 6, `items per bin (tallest: ${most})`, { scale: S, color: GREY });
  return img.toPng();
}
