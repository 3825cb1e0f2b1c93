/**
 * The two pictures of a zero-shot report, as SVG (src/eval/svg.ts). The confusion matrix shades each cell
 * by the share of its row (so a class's recall is its diagonal shade, whatever the class sizes) and
 * prints the count and that share. The reliability diagram draws each confidence bin's accuracy as a bar
 * against the diagonal of perfect calibration, the gap to the bin's mean confidence in red, and how many
 * items each bin holds.
 *
 * Every cell and bin also carries a `<title>` with its numbers, which a browser shows on hover: with many
 * classes the cells are too small to print in, and a long class name is cut on the axis but not there.
 * The elements carry classes (`cell`, `bar`, `gap`, `count`) so that tests and readers can find them.
 */
import type { CalibrationBin } from './calibration.js';
import { el, svgDocument, text, textWidth, tooltip, verticalText } from './svg.js';

const FONT = 14; // px: labels, ticks, axis titles
const LINE = 20; // px from one title line to the next
const LABEL_CHARS = 24;
const BLUE = '#1f77b4';
const RED = '#d62728';
const GREY = '#969696';
/** Baseline offset that centres a line of text vertically on y (half the height of a capital, about). */
const middle = (size: number) => size * 0.35;

/** White → dark blue as `t` goes 0 → 1, as [r, g, b] bytes. */
function shade(t: number): [number, number, number] {
  const lerp = (a: number, b: number) => Math.round(a + (b - a) * Math.min(1, Math.max(0, t)));
  return [lerp(247, 8), lerp(251, 48), lerp(255, 107)];
}

/**
 * The ink that reads best on `rgb`: white below a relative luminance of 0.18 (WCAG's formula), where
 * white has the higher contrast ratio, else black. A fixed share threshold put white on mid blues.
 */
function inkOn(rgb: [number, number, number]): string {
  const linear = rgb.map((v) => (v / 255 <= 0.04045 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4));
  return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2] < 0.18 ? 'white' : 'black';
}

/** `label` cut to at most `max` characters, ending in '…' when cut. */
function clip(label: string, max: number): string {
  const chars = [...label];
  return chars.length <= max ? label : chars.slice(0, max - 1).join('') + '…';
}

/** The title lines from (16, top): the first one bold. */
function titleLines(title: string[], top: number): string[] {
  return title.map((t, i) => text(16, top + 15 + i * LINE, t, { 'font-size': 15, 'font-weight': i === 0 ? 'bold' : undefined }));
}

const percent = (share: number) => `${Math.round(share * 100)}%`;

/** One cell of the matrix: its shade, and the count (and share, when there is room) in a contrasting ink. */
function cell(x: number, y: number, size: number, count: number, share: number, label: string): string {
  const fill = shade(share);
  const ink = inkOn(fill);
  const cx = x + size / 2;
  // The count shrinks to fit its cell rather than spill into the next one (five digits in a 40 px cell).
  const fit = (base: number, s: string) => Math.min(base, (size - 6) / textWidth(s, 1));
  const parts = [tooltip(label), el('rect', { x, y, width: size, height: size, fill: `rgb(${fill.join(',')})` })];
  if (size >= 72) {
    parts.push(text(cx, y + size / 2 - 2, String(count), { 'font-size': fit(16, String(count)), 'text-anchor': 'middle', fill: ink }));
    parts.push(text(cx, y + size / 2 + 16, percent(share), { 'font-size': 13, 'text-anchor': 'middle', fill: ink }));
  } else if (size >= 40) {
    const fontSize = fit(13, String(count));
    parts.push(text(cx, y + size / 2 + middle(fontSize), String(count), { 'font-size': fontSize, 'text-anchor': 'middle', fill: ink }));
  }
  return el('g', { class: 'cell' }, ...parts);
}

/**
 * counts[t][p]: items of true class t predicted p. Cells come row by row (true class), each a
 * `<g class="cell">`; their size, and so whether they print counts and shares, follows the class count.
 */
export function confusionSvg(classes: string[], counts: number[][], title: string[]): string {
  const k = classes.length;
  const size = k <= 8 ? 72 : k <= 20 ? 40 : 20;
  const labels = classes.map((c) => clip(c, LABEL_CHARS));
  const labelPx = Math.max(...labels.map((l) => textWidth(l, FONT))) + 12;
  const titlePx = 8 + title.length * LINE + 8;
  const left = 16 + LINE + labelPx; // axis title, then the row labels
  const top = titlePx + LINE + labelPx; // axis title, then the column labels
  const widest = Math.max(...title.map((t) => textWidth(t, 15)));
  const body = [
    ...titleLines(title, 8),
    text(left + (k * size) / 2, titlePx + 15, 'predicted class', { 'font-size': FONT, 'text-anchor': 'middle' }),
    verticalText(30, top + (k * size) / 2, 'true class', { 'font-size': FONT, 'text-anchor': 'middle' }),
  ];
  labels.forEach((l, c) => {
    const along = size * c + size / 2;
    body.push(text(left - 8, top + along + middle(FONT), l, { 'font-size': FONT, 'text-anchor': 'end' })); // row
    body.push(verticalText(left + along + middle(FONT), top - 8, l, { 'font-size': FONT })); // column, reads upwards
  });
  counts.forEach((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => {
      const share = total > 0 ? count / total : 0;
      const label = `true ${classes[t]}, predicted ${classes[p]}: ${count} (${percent(share)} of the row)`;
      body.push(cell(left + p * size, top + t * size, size, count, share, label));
    });
  });
  body.push(el('rect', { x: left, y: top, width: k * size, height: k * size, fill: 'none', stroke: GREY }));
  return svgDocument(Math.max(left + k * size + 24, widest + 32), top + k * size + 24, body);
}

/** One non-empty bin: its accuracy bar, the red outline of the gap to its mean confidence, its item count. */
function bin(b: CalibrationBin, accuracy: number, confidence: number, scale: Scale, most: number): string {
  const { x, y, stripBottom, stripHeight } = scale;
  const x0 = x(b.lo) + 1;
  const w = x(b.hi) - x(b.lo) - 2;
  const [lo, hi] = accuracy < confidence ? [accuracy, confidence] : [confidence, accuracy];
  const h = (b.count / most) * stripHeight;
  return el(
    'g',
    { class: 'bin' },
    tooltip(`confidence ${b.lo.toFixed(2)}–${b.hi.toFixed(2)}: ${b.count} items, accuracy ${accuracy.toFixed(3)}, mean confidence ${confidence.toFixed(3)}`),
    el('rect', { class: 'bar', x: x0, y: y(accuracy), width: w, height: y(0) - y(accuracy), fill: BLUE }),
    el('rect', { class: 'gap', x: x0, y: y(hi), width: w, height: Math.max(2, y(lo) - y(hi)), fill: 'none', stroke: RED, 'stroke-width': 2 }),
    el('rect', { class: 'count', x: x0, y: stripBottom - h, width: w, height: h, fill: GREY }),
  );
}

interface Scale {
  x: (v: number) => number;
  y: (v: number) => number;
  /** The histogram strip under the plot: its bottom edge, and the height of its tallest bar. */
  stripBottom: number;
  stripHeight: number;
}

/** Bins in order, each non-empty one a `<g class="bin">` holding a `bar`, a `gap` and a `count` rect. */
export function reliabilitySvg(bins: CalibrationBin[], title: string[]): string {
  const plot = 400;
  const left = 90;
  const top = 8 + title.length * LINE + 18;
  const strip = 80; // under the plot: items per bin
  const xTitle = 'confidence (probability of the predicted class)';
  const widest = Math.max(...title.map((t) => textWidth(t, 15)), textWidth(xTitle, FONT));
  const scale: Scale = { x: (v) => left + v * plot, y: (v) => top + (1 - v) * plot, stripBottom: top + plot + strip, stripHeight: strip - 24 };
  const { x, y } = scale;
  const body = titleLines(title, 8);
  for (let g = 0; g <= 5; g++) {
    const v = g / 5;
    body.push(el('line', { x1: x(v), y1: top, x2: x(v), y2: top + plot, stroke: '#e6e6e6' }));
    body.push(el('line', { x1: left, y1: y(v), x2: left + plot, y2: y(v), stroke: '#e6e6e6' }));
    body.push(text(left - 8, y(v) + middle(FONT), v.toFixed(1), { 'font-size': FONT, 'text-anchor': 'end' }));
    body.push(text(x(v), top + plot + strip + 10 + FONT, v.toFixed(1), { 'font-size': FONT, 'text-anchor': 'middle' }));
  }
  const most = Math.max(...bins.map((b) => b.count));
  for (const b of bins) {
    if (b.count > 0 && b.accuracy !== null && b.confidence !== null) body.push(bin(b, b.accuracy, b.confidence, scale, most));
  }
  body.push(
    el('line', { x1: x(0), y1: y(0), x2: x(1), y2: y(1), stroke: 'black', 'stroke-width': 2, 'stroke-dasharray': 6 }), // perfect calibration
    el('rect', { x: left, y: top, width: plot, height: plot, fill: 'none', stroke: 'black' }),
    text(Math.max(16 + textWidth(xTitle, FONT) / 2, left + plot / 2), top + plot + strip + 34 + FONT, xTitle, { 'font-size': FONT, 'text-anchor': 'middle' }),
    verticalText(32, top + plot / 2, 'accuracy', { 'font-size': FONT, 'text-anchor': 'middle' }),
    text(left + 8, top + 8 + FONT, 'bars: accuracy per bin', { 'font-size': FONT, fill: BLUE }),
    text(left + 8, top + 8 + FONT + LINE, 'red: gap to mean confidence', { 'font-size': FONT, fill: RED }),
    text(left, top + plot + 6 + FONT, `items per bin (tallest: ${most})`, { 'font-size': FONT, fill: GREY }),
  );
  return svgDocument(Math.max(left + plot + 40, widest + 32), top + plot + strip + 90, body);
}
