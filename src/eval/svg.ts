/**
 * Just enough SVG for the report's charts, written as text: elements with attributes, text escaped for
 * XML. SVG rather than PNG because the viewer's own fonts draw the labels (sharp at any zoom, any
 * script a class name is written in), the file is a few kilobytes, and a reader can open it in an
 * editor and see every number the picture shows.
 *
 * Everything a caller passes in is escaped here, once: class names come from folder names, CSV cells
 * and JSON files, and may hold `<`, `&` or quotes.
 */

export type Attrs = Record<string, string | number | undefined>;

/**
 * `text` as XML character data or attribute value: the five markup characters as entities, and the
 * characters XML 1.0 cannot hold at all (control characters, unpaired surrogates, U+FFFE/U+FFFF: not even
 * as `&#1;`) as U+FFFD, so a strange file name costs one replacement character and not the whole picture.
 */
export function escapeXml(text: string): string {
  return text.replace(/\p{Cc}|\p{Cs}|[\uFFFE\uFFFF]/gu, '\uFFFD').replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Numbers to two decimals at most: coordinates need no more, and the file stays readable. */
function num(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function attrText(attrs: Attrs): string {
  return Object.entries(attrs)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? num(v) : escapeXml(v)}"`)
    .join('');
}

/** `<name attrs/>`, or `<name attrs>children</name>`; children are markup already (from el or text). */
export function el(name: string, attrs: Attrs, ...children: string[]): string {
  return children.length === 0 ? `<${name}${attrText(attrs)}/>` : `<${name}${attrText(attrs)}>${children.join('')}</${name}>`;
}

/** A `<text>` holding `content`, escaped. */
export function text(x: number, y: number, content: string, attrs: Attrs = {}): string {
  return el('text', { x, y, ...attrs }, escapeXml(content));
}

/** A `<title>`: the tooltip a browser shows over its parent element. */
export function tooltip(content: string): string {
  return el('title', {}, escapeXml(content));
}

/** The same text rotated a quarter turn counter-clockwise about (x, y): it reads bottom to top. */
export function verticalText(x: number, y: number, content: string, attrs: Attrs = {}): string {
  return text(x, y, content, { ...attrs, transform: `rotate(-90 ${num(x)} ${num(y)})` });
}

/** Sans-serif everywhere; sizes are given per element. */
const FONT = 'Helvetica, Arial, sans-serif';

/**
 * Width in px that `content` takes at `size` px, over-estimated: 0.6 em per character is about the widest
 * average of the sans-serif fonts above (digits and most lower-case letters are narrower), and a layout
 * that leaves room for this never clips a label.
 */
export function textWidth(content: string, size: number): number {
  return [...content].length * size * 0.6;
}

/** A standalone SVG document of `width` × `height` px on a white ground (readable on a dark page too). */
export function svgDocument(width: number, height: number, body: string[]): string {
  const w = Math.ceil(width);
  const h = Math.ceil(height);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="${escapeXml(FONT)}">`,
    el('rect', { width: w, height: h, fill: 'white' }),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
