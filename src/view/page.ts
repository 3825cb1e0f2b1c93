/**
 * The viewer page: one self-contained HTML file. The data travels inside it (a JSON object and gzipped
 * base64 blocks, see contract.ts), as do the style and the script (src/view/client/: `npm run build`,
 * scripts/build_client.ts, copies style.css and bundles the TypeScript modules into one IIFE, viewer.js,
 * both beside this file; package.json's "files" ships dist/src, so an installed package finds them the
 * same way), and a Content-Security-Policy forbids every network access, so the page works from a file,
 * offline, and never phones anywhere.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CostLine, PageData } from './contract.js';
import type { ViewModel } from './data.js';
import { Blocks, packAttention } from './encode.js';

const CLIENT_SCRIPT = fileURLToPath(new URL('./viewer.js', import.meta.url));
const CLIENT_STYLE = fileURLToPath(new URL('./style.css', import.meta.url));

/** Nothing may be fetched: inline script and style, data: images for the thumbnails, blob: for the download. */
const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; connect-src 'none'";

export interface Page {
  html: string;
  /** Bytes of each part as stored, largest parts first, and the total. */
  cost: CostLine[];
  bytes: number;
}

function clientScript(): string {
  if (!existsSync(CLIENT_SCRIPT)) throw new Error(`the viewer's browser script ${CLIENT_SCRIPT} is missing; run \`npm run build\``);
  // One IIFE: the bundle's names stay inside its function scope, and it declares no globals of its own.
  const code = readFileSync(CLIENT_SCRIPT, 'utf8');
  if (/<\/script|<!--/i.test(code)) throw new Error('internal: the viewer script must not contain </script or <!-- (it is inlined)');
  return code;
}

/**
 * The CSS as the page carries it: the file without its opening comment (notes for whoever edits the file,
 * dead weight in every page). The newline kept in front is where the rules began when they were a string.
 */
export function viewerStyle(css: string): string {
  const rules = css.replace(/^\/\*[\s\S]*?\*\/\n/, '');
  if (/<\/style/i.test(rules)) throw new Error('internal: the viewer style must not contain </style (it is inlined)');
  return rules;
}

function clientStyle(): string {
  if (!existsSync(CLIENT_STYLE)) throw new Error(`the viewer's style sheet ${CLIENT_STYLE} is missing; run \`npm run build\``);
  return viewerStyle(readFileSync(CLIENT_STYLE, 'utf8'));
}

/** JSON inside a <script> element: `<` escaped so no string can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

const blockElement = (b: { id: string; base64: string }) => `<script type="application/octet-stream" id="${b.id}">${b.base64}</script>`;

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function buildPage(view: ViewModel): Page {
  const blocks = new Blocks();
  const images = view.images.map((img, i) => ({
    name: img.name,
    crop: blocks.add(`crop${i}`, img.crop),
    attention: packAttention(blocks, `image${i}`, img.attention, img.attentionNames),
    lens: img.lens,
    scores: img.scores,
  }));
  const texts = view.texts.map((t, i) => ({
    text: t.text,
    tokens: t.tokens,
    attention: packAttention(blocks, `text${i}`, t.attention, t.attentionNames),
  }));
  const script = clientScript();
  const style = clientStyle();
  const parts: CostLine[] = [
    ...images.flatMap((img) => [
      { part: `image attention: ${img.name} (${img.attention.shape.join(' × ')}, 8-bit + row scale, gzip)`, bytes: blocks.size(img.attention.block) },
      { part: `image crop: ${img.name}`, bytes: blocks.size(img.crop) },
    ]),
    ...texts.map((t) => ({ part: `text attention: "${t.text}" (${t.attention.shape.join(' × ')})`, bytes: blocks.size(t.attention.block) })),
    { part: 'viewer script and style', bytes: script.length + style.length },
  ];
  const data: PageData = {
    format: 'biomedclip-ts view v1',
    model: view.model,
    colormap: { name: view.colormap.name, lut: Buffer.from(view.colormap.lut).toString('base64') },
    labels: view.labels,
    methods: view.methods,
    images,
    texts,
    explanations: view.explanations,
    cost: parts,
  };
  // The JSON's own size is a line of the table inside it: measured with the line present (its digits
  // change the size by a few bytes at most).
  const jsonLine = { part: 'explanations, lens, scores and layout (JSON)', bytes: 0 };
  data.cost = [...parts, jsonLine];
  jsonLine.bytes = scriptJson(data).length;
  data.cost.sort((a, b) => b.bytes - a.bytes);
  const later = new Set(images.slice(1).map((img) => img.attention.block.id));
  const title = `BiomedCLIP attention: ${view.images.map((i) => i.name.split(/[\\/]/).pop()).join(', ')}`;
  const html = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${style}</style>`,
    '</head><body>',
    '<main id="app"><p class="loading">Loading the attention data…</p></main>',
    `<script type="application/json" id="view-data">${scriptJson(data)}</script>`,
    // What the first view needs comes before the script, the other images' attention after it: the
    // script starts drawing while the browser still parses those (the page waits for them if asked early).
    ...blocks.entries.filter((b) => !later.has(b.id)).map(blockElement),
    `<script>${script}</script>`,
    ...blocks.entries.filter((b) => later.has(b.id)).map(blockElement),
    '</body></html>',
    '',
  ].join('\n');
  return { html, cost: data.cost, bytes: Buffer.byteLength(html) };
}
