/**
 * A strict little XML parser for the tests of what we write as SVG: it throws on anything that is not
 * well-formed (an unclosed or mismatched tag, an unquoted or repeated attribute, a raw `<` or `&` in text,
 * an unknown entity, a character XML 1.0 forbids) and returns the element tree with entities decoded, so
 * a test can check both that a browser would parse the file and what it holds. No DTDs, CDATA or
 * processing instructions beyond the `<?xml ...?>` declaration: our writer makes none. Stricter than XML
 * in one way: a raw `>` inside an attribute value is refused too (our writer escapes it).
 */

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (not its children's), decoded. */
  text: string;
}

const NAME = /^[A-Za-z_][\w.:-]*/;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
/** The characters XML 1.0 allows nowhere, not even as a character reference. */
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|\p{Cs}/u;

function decode(raw: string, where: number): string {
  if (raw.includes('<')) throw new Error(`raw '<' in text or attribute at ${where}`);
  return raw.replace(/&([^;]*);?/g, (all, name: string) => {
    if (!all.endsWith(';')) throw new Error(`'&' without ';' at ${where}: ${all}`);
    if (name in ENTITIES) return ENTITIES[name];
    const code = /^#x([0-9a-f]+)$/i.exec(name)?.[1] ?? /^#([0-9]+)$/.exec(name)?.[1];
    if (code === undefined) throw new Error(`unknown entity &${name}; at ${where}`);
    const cp = name.startsWith('#x') ? parseInt(code, 16) : parseInt(code, 10);
    const ch = String.fromCodePoint(cp);
    if (FORBIDDEN.test(ch)) throw new Error(`&${name}; is a character XML forbids, at ${where}`);
    return ch;
  });
}

/** Parses `source` (one root element, optionally after an XML declaration); throws on the first error. */
export function parseXml(source: string): XmlElement {
  const bad = FORBIDDEN.exec(source);
  if (bad) throw new Error(`character U+${bad[0].codePointAt(0)?.toString(16)} XML forbids, at ${bad.index}`);
  let pos = source.startsWith('<?xml') ? source.indexOf('?>') + 2 : 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (pos < source.length) {
    const lt = source.indexOf('<', pos);
    const chunk = source.slice(pos, lt < 0 ? source.length : lt);
    if (stack.length > 0) stack[stack.length - 1].text += decode(chunk, pos);
    else if (chunk.trim() !== '') throw new Error(`text outside the root element at ${pos}`);
    if (lt < 0) break;
    const gt = source.indexOf('>', lt);
    if (gt < 0) throw new Error(`unterminated tag at ${lt}`);
    const tag = source.slice(lt + 1, gt);
    pos = gt + 1;
    if (tag.startsWith('/')) {
      const open = stack.pop();
      if (open?.name !== tag.slice(1).trim()) throw new Error(`</${tag.slice(1)}> closes <${open?.name}> at ${lt}`);
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const element = parseTag(selfClosing ? tag.slice(0, -1) : tag, lt);
    if (stack.length > 0) stack[stack.length - 1].children.push(element);
    else if (root === undefined) root = element;
    else throw new Error(`a second root element <${element.name}> at ${lt}`);
    if (!selfClosing) stack.push(element);
  }
  if (stack.length > 0) throw new Error(`<${stack[stack.length - 1].name}> is never closed`);
  if (root === undefined) throw new Error('no root element');
  return root;
}

function parseTag(tag: string, where: number): XmlElement {
  const name = NAME.exec(tag)?.[0];
  if (name === undefined) throw new Error(`bad tag name at ${where}: <${tag}>`);
  const attrs: Record<string, string> = {};
  let rest = tag.slice(name.length);
  while (rest.trim() !== '') {
    const m = /^\s+([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/.exec(rest);
    if (!m) throw new Error(`bad attribute in <${name}> at ${where}: ${rest.trim().slice(0, 40)}`);
    if (m[1] in attrs) throw new Error(`attribute ${m[1]} repeated in <${name}> at ${where}`);
    attrs[m[1]] = decode(m[2] ?? m[3], where);
    rest = rest.slice(m[0].length);
  }
  return { name, attrs, children: [], text: '' };
}

/** Every element under (and including) `root` named `name` with class `cls` (if given), in document order. */
export function findAll(root: XmlElement, name: string, cls?: string): XmlElement[] {
  const found: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if (e.name === name && (cls === undefined || e.attrs.class === cls)) found.push(e);
    e.children.forEach(walk);
  };
  walk(root);
  return found;
}
