/**
 * The evaluation report's SVG charts: each one is well-formed XML (parsed by test/support/xml.ts, which
 * refuses what a browser's XML parser refuses), holds one cell per class pair or one bar per non-empty
 * bin with the numbers the report's JSON has, and a class name full of markup stays text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CalibrationBin } from '../src/eval/calibration.js';
import { confusionSvg, reliabilitySvg } from '../src/eval/charts.js';
import { escapeXml } from '../src/eval/svg.js';
import { findAll, parseXml, type XmlElement } from './support/xml.js';

const HOSTILE = `</text></svg><script>alert("x")</script> & 'quoted' <b>`;
const TITLE = ['Confusion matrix: n = 10, accuracy 0.5000, ECE 0.1000', 'model: demo & <random>'];

/** The `<text>` children of `e`, as their strings. */
const texts = (e: XmlElement) => e.children.filter((c) => c.name === 'text').map((c) => c.text);
const rectOf = (e: XmlElement) => e.children.find((c) => c.name === 'rect') as XmlElement;

test('the test XML parser refuses what is not well-formed', () => {
  for (const bad of [
    '<svg><text>a & b</text></svg>',
    '<svg><text>a</svg>',
    '<svg><g></svg></g>',
    '<svg a="1" a="2"/>',
    '<svg a=1/>',
    '<svg a="<"/>',
    '<svg>&nbsp;</svg>',
    '<svg>\u0001</svg>',
    '<svg/><svg/>',
  ]) {
    assert.throws(() => parseXml(bad), Error, bad);
  }
  const ok = parseXml('<?xml version="1.0"?>\n<svg a="&quot;x&apos;"><text>a &lt;b&gt; &amp; &#233;&#x41;</text></svg>');
  assert.equal(ok.attrs.a, `"x'`);
  assert.equal(ok.children[0].text, 'a <b> & éA');
});

test('confusion matrix: one cell per class pair, row by row, with its count, share and shade', () => {
  const classes = ['normal', HOSTILE, 'lymph'];
  const counts = [
    [3, 1, 0],
    [0, 2, 2],
    [1, 0, 1],
  ];
  const svg = parseXml(confusionSvg(classes, counts, TITLE));
  assert.equal(svg.name, 'svg');
  assert.equal(svg.attrs.xmlns, 'http://www.w3.org/2000/svg');
  assert.ok(Number(svg.attrs.width) > 300 && Number(svg.attrs.height) > 300, `${svg.attrs.width}×${svg.attrs.height}`);
  const cells = findAll(svg, 'g', 'cell');
  assert.equal(cells.length, 9);
  counts.forEach((row, t) =>
    row.forEach((count, p) => {
      const cell = cells[t * 3 + p];
      const share = count / row.reduce((a, b) => a + b, 0);
      assert.deepEqual(texts(cell), [String(count), `${Math.round(share * 100)}%`], `cell ${t},${p}`);
      assert.equal(rectOf(cell).attrs.width, '72', '3 classes: 72 px cells');
      assert.match(findAll(cell, 'title')[0].text, new RegExp(`: ${count} \\(`));
    }),
  );
  assert.equal(rectOf(cells[0]).attrs.fill, 'rgb(68,99,144)', 'a 75% share is 3/4 of the way to dark blue');
  assert.equal(rectOf(cells[2]).attrs.fill, 'rgb(247,251,255)', 'an empty cell is white');
  // Ink by the shade's luminance: white from about a 2/3 share (dark blue), black below.
  const inks = cells.map((c) => findAll(c, 'text').map((e) => e.attrs.fill));
  assert.deepEqual(inks[0], ['white', 'white'], '75%');
  assert.deepEqual(inks[4], ['black', 'black'], '50%');
  assert.deepEqual(inks[2], ['black', 'black'], '0%');
  // The hostile name is text: labelled on both axes, named in its cells' tooltips, and no <script> exists.
  const labels = findAll(svg, 'text').filter((e) => e.text === HOSTILE.slice(0, 23) + '…');
  assert.equal(labels.length, 2, 'row and column label, cut to 24 characters');
  assert.ok(
    labels.some((l) => /^rotate\(-90 /.test(l.attrs.transform ?? '')),
    'the column label is vertical',
  );
  assert.equal(findAll(svg, 'title').filter((e) => e.text.includes(HOSTILE)).length, 5, 'its row and column');
  assert.equal(findAll(svg, 'script').length, 0);
  assert.deepEqual(
    findAll(svg, 'text')
      .slice(0, 2)
      .map((e) => e.text),
    TITLE,
  );
});

test('confusion matrix cells shrink with the class count: counts from 40 px, shares from 72 px', () => {
  for (const [k, size, shown] of [
    [8, '72', 2],
    [9, '40', 1],
    [20, '40', 1],
    [21, '20', 0],
  ] as const) {
    const classes = Array.from({ length: k }, (_, i) => `class ${i}`);
    const counts = classes.map((_, t) => classes.map((_, p) => (t === p ? 10000 : t + p)));
    const svg = parseXml(confusionSvg(classes, counts, ['t']));
    const cells = findAll(svg, 'g', 'cell');
    assert.equal(cells.length, k * k);
    assert.ok(
      cells.every((c) => rectOf(c).attrs.width === size && texts(c).length === shown),
      `${k} classes: ${size} px cells with ${shown} texts`,
    );
    if (shown > 0) assert.equal(texts(cells[0])[0], '10000');
    assert.equal(findAll(cells[1], 'title')[0].text, `true class 0, predicted class 1: 1 (0% of the row)`);
  }
});

test('a class name with characters XML cannot hold still makes a well-formed chart', () => {
  const name = 'tab\there\u0001bell\ud800';
  assert.equal(escapeXml(name), 'tab\uFFFDhere\uFFFDbell\uFFFD');
  assert.equal(escapeXml(`<a href="x">&'`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  const svg = parseXml(
    confusionSvg(
      [name, 'b'],
      [
        [1, 0],
        [0, 1],
      ],
      [name],
    ),
  );
  assert.equal(findAll(svg, 'g', 'cell').length, 4);
});

test('reliability diagram: one bar, gap outline and histogram bar per non-empty bin', () => {
  const bins: CalibrationBin[] = Array.from({ length: 10 }, (_, b) => ({ lo: b / 10, hi: (b + 1) / 10, count: 0, confidence: null, accuracy: null }));
  Object.assign(bins[3], { count: 4, confidence: 0.35, accuracy: 0.25 });
  Object.assign(bins[6], { count: 10, confidence: 0.64, accuracy: 0.8 });
  Object.assign(bins[9], { count: 2, confidence: 0.97, accuracy: 1 });
  const svg = parseXml(reliabilitySvg(bins, ['Reliability diagram: n = 16', 'model: <demo> & "random"']));
  const drawn = findAll(svg, 'g', 'bin');
  assert.equal(drawn.length, 3);
  const rect = (g: XmlElement, cls: string) => {
    const found = findAll(g, 'rect', cls);
    assert.equal(found.length, 1, cls);
    const a = found[0].attrs;
    return { x: Number(a.x), y: Number(a.y), w: Number(a.width), h: Number(a.height) };
  };
  [bins[3], bins[6], bins[9]].forEach((b, i) => {
    const bar = rect(drawn[i], 'bar');
    const gap = rect(drawn[i], 'gap');
    const count = rect(drawn[i], 'count');
    assert.ok(Math.abs(bar.h - 400 * (b.accuracy as number)) < 0.01, `bin ${b.lo}: bar height ${bar.h} is accuracy × 400 px`);
    assert.ok(Math.abs(bar.w - 38) < 0.01 && Math.abs(bar.x - (90 + 400 * b.lo + 1)) < 0.01, `bin ${b.lo}: bar spans its bin`);
    const gapPx = 400 * Math.abs((b.accuracy as number) - (b.confidence as number));
    assert.ok(Math.abs(gap.h - Math.max(2, gapPx)) < 0.01, `bin ${b.lo}: gap outline ${gap.h} px for ${gapPx}`);
    assert.ok(Math.abs(count.h - (56 * b.count) / 10) < 0.01, `bin ${b.lo}: histogram bar ${count.h} px, the tallest 56`);
  });
  const all = findAll(svg, 'text').map((e) => e.text);
  for (const tick of ['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']) assert.equal(all.filter((t) => t === tick).length, 2, `tick ${tick} on both axes`);
  assert.ok(all.includes('model: <demo> & "random"'));
  assert.ok(all.includes('items per bin (tallest: 10)'));
  assert.equal(findAll(svg, 'line').filter((l) => l.attrs['stroke-dasharray'] !== undefined).length, 1, 'the diagonal');
});
