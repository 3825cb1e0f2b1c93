/**
 * The two HTML decoders open_clip's cleaning runs, with alignment kept.
 *
 * - `unescapeHtmlPython`: Python's `html.unescape` (HTML5 rules), which open_clip applies twice after ftfy.
 *   It accepts `&#233`, `&amp` and other legacy names without a semicolon, decodes the longest legacy prefix
 *   of an unknown name (`&ampx;` → `&x;`), remaps numeric C1 references through Windows-1252 (`&#x92;` → `’`),
 *   and drops references to control characters and noncharacters.
 * - `unescapeHtmlFtfy`: ftfy's own, stricter `unescape_html`, which only decodes entities that end in `;`
 *   (so the informal "this&not that" survives) plus ALL-CAPS forms of lowercase names (`&EACUTE;` → `É`).
 *   ftfy runs it before its quote and width fixes, which is why `&rsquo;` ends up as a straight `'`.
 */
import { type Aligned, replaceMatches } from './aligned.js';
import { INVALID_CHARREFS, INVALID_CODEPOINT_RANGES, LEGACY_NAMES, namedEntities } from './html_entities.js';

/** Python's `html._charref`: numeric refs, or up to 32 name characters, each with an optional `;`. */
const PY_CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;
/** ftfy's `HTML_ENTITY_RE`: only complete `&...;` references. */
const FTFY_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;

function isInvalidCodepoint(cp: number): boolean {
  for (const [lo, hi] of INVALID_CODEPOINT_RANGES) if (cp >= lo && cp <= hi) return true;
  return false;
}

/** One numeric reference body (`#233`, `#xE9;`) decoded the way Python does. */
function decodeNumeric(body: string): string {
  const digits = body.replace(/;$/, '');
  const hex = digits[1] === 'x' || digits[1] === 'X';
  // parseInt of a huge digit string gives a huge float: still > 0x10FFFF, which is all we need to know.
  const cp = hex ? parseInt(digits.slice(2), 16) : parseInt(digits.slice(1), 10);
  const remapped = INVALID_CHARREFS.get(cp);
  if (remapped !== undefined) return remapped;
  if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return '\ufffd';
  if (isInvalidCodepoint(cp)) return '';
  return String.fromCodePoint(cp);
}

/** One named reference body (`alpha;`, `amp`, `ampx;`) decoded the way Python does. */
function decodeNamed(body: string): string {
  const table = namedEntities();
  if (body.endsWith(';')) {
    const exact = table.get(body.slice(0, -1));
    if (exact !== undefined) return exact;
  } else if (LEGACY_NAMES.has(body)) {
    return table.get(body) as string;
  }
  // Longest prefix (in code points, at least 2) that is a legacy name; the rest stays as written.
  const chars = Array.from(body);
  for (let x = chars.length - 1; x > 1; x--) {
    const prefix = chars.slice(0, x).join('');
    if (LEGACY_NAMES.has(prefix)) return (table.get(prefix) as string) + chars.slice(x).join('');
  }
  return '&' + body;
}

function decodePython(m: RegExpExecArray): string {
  const body = m[1];
  return body[0] === '#' ? decodeNumeric(body) : decodeNamed(body);
}

/** Python's `html.unescape` on plain strings (used by tests and by `unescapeHtmlFtfy`). */
export function unescapeHtmlString(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(PY_CHARREF, (...args: unknown[]) => {
    const body = args[1] as string;
    return body[0] === '#' ? decodeNumeric(body) : decodeNamed(body);
  });
}

/** Python's `html.unescape`, keeping alignment: a decoded character spans its whole reference. */
export function unescapeHtmlPython(src: Aligned): Aligned {
  if (!src.text.includes('&')) return src;
  return replaceMatches(src, PY_CHARREF, decodePython);
}

let upperVariants: Map<string, string> | undefined;

/** ftfy's extra ALL-CAPS names: `EACUTE` → `É`, only where the capitalized name is not itself an entity. */
function ftfyUpperVariant(name: string): string | undefined {
  if (upperVariants === undefined) {
    upperVariants = new Map();
    for (const [lower, value] of namedEntities()) {
      if (lower !== lower.toLowerCase()) continue;
      const upper = lower.toUpperCase();
      const ref = `&${upper};`;
      if (unescapeHtmlString(ref) === ref) upperVariants.set(upper, value.toUpperCase());
    }
  }
  return upperVariants.get(name);
}

function decodeFtfy(m: RegExpExecArray): string {
  const ref = m[0];
  if (ref[1] === '#') {
    // ftfy defers to html.unescape but refuses a partial decode that leaves the `;` behind.
    const decoded = unescapeHtmlString(ref);
    return decoded.includes(';') ? ref : decoded;
  }
  const name = ref.slice(1, -1);
  return namedEntities().get(name) ?? ftfyUpperVariant(name) ?? ref;
}

/** ftfy's `unescape_html`, keeping alignment. */
export function unescapeHtmlFtfy(src: Aligned): Aligned {
  if (!src.text.includes('&')) return src;
  return replaceMatches(src, FTFY_ENTITY, decodeFtfy);
}
