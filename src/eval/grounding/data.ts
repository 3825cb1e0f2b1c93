/**
 * Reading a grounding dataset: a CSV of (image, text, target region) rows, in one of two forms,
 *
 *   image,text,x0,y0,x1,y1   a box in the original image's pixels, inclusive-exclusive; several lines
 *                            with the same image and text are one row whose region is their union
 *   image,text,mask          a mask image of the original's size, nonzero = inside (several: union)
 *
 * with an optional `group` column (the breakdown's groups, e.g. MS-CXR's finding; default: the text).
 * Paths are relative to the CSV's folder (or absolute), as every evaluation CSV (dataset.ts). Other
 * columns are ignored.
 *
 * A file that is not such a CSV (no header, a missing column, both forms at once) is an error. A bad
 * row is not: a missing image, an empty field, a coordinate that is not a number, a box of zero area,
 * a group that changes between a row's lines. Each is one line on stderr and one entry of the report's
 * `skipped`, and the row is left out of every metric, never silently dropped; a row with one bad line
 * is skipped whole, since its region would be incomplete.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../errors.js';
import { parseCsv } from '../csv.js';
import { relativeTo } from '../dataset.js';
import { boxIsEmpty, type Box } from './region.js';

export interface GroundingItem {
  /** Image path relative to the CSV's folder, '/'-separated. */
  image: string;
  text: string;
  /** The breakdown's group: the `group` column, or the text. */
  group: string;
  /** The CSV lines that make this row (1-based). */
  lines: number[];
  /** The boxes (box form) or mask paths relative to the CSV's folder (mask form) whose union is the region. */
  boxes: Box[];
  masks: string[];
}

/** A row left out, with why: the report's `skipped` and one stderr line. */
export interface SkippedRow {
  lines: number[];
  image: string;
  text: string;
  error: string;
}

export interface GroundingData {
  /** Absolute path of the CSV. */
  source: string;
  /** The folder paths are relative to. */
  root: string;
  form: 'boxes' | 'masks';
  /** Whether groups come from a `group` column (else each text is its own group). */
  groupColumn: boolean;
  /** Rows that passed the CSV checks, in order of first appearance. */
  items: GroundingItem[];
  skipped: SkippedRow[];
}

const BOX_COLUMNS = ['x0', 'y0', 'x1', 'y1'];

export async function loadGroundingData(csv: string): Promise<GroundingData> {
  const source = path.resolve(csv);
  const stat = await fs.stat(source).catch(() => undefined);
  if (!stat?.isFile()) throw new UserError(`${csv}: not a file; pass a CSV with image,text,x0,y0,x1,y1 or image,text,mask columns`, 2);
  const [header, ...body] = parseCsv(await fs.readFile(source, 'utf8'), source);
  if (header === undefined) throw new UserError(`${source}: empty; the first line must name the columns image,text,x0,y0,x1,y1 (or image,text,mask)`);
  const names = header.fields.map((f) => f.trim());
  const form = formOf(source, names);
  const columns = ['image', 'text', ...(form === 'boxes' ? BOX_COLUMNS : ['mask']), ...(names.includes('group') ? ['group'] : [])];
  const at = columns.map((c) => names.indexOf(c));
  if (body.length === 0) throw new UserError(`${source}: a header but no rows; add one line per box (or mask)`);
  const root = path.dirname(source);
  const byKey = new Map<string, { item: GroundingItem; problems: Array<{ line: number; problem: string }> }>();
  for (const row of body) {
    const v = Object.fromEntries(columns.map((c, j) => [c, (row.fields[at[j]] ?? '').trim()]));
    const key = `${relativeTo(root, v.image)}\0${v.text}`;
    let entry = byKey.get(key);
    if (entry === undefined) {
      const item = { image: relativeTo(root, v.image), text: v.text, group: v.group || v.text, lines: [], boxes: [], masks: [] };
      entry = { item, problems: [] };
      byKey.set(key, entry);
    }
    entry.item.lines.push(row.line);
    const problem = lineProblem(v, columns, form, entry.item);
    if (problem !== undefined) entry.problems.push({ line: row.line, problem });
    else if (form === 'boxes') entry.item.boxes.push(box(v));
    else entry.item.masks.push(relativeTo(root, v.mask));
  }
  const items: GroundingItem[] = [];
  const skipped: SkippedRow[] = [];
  for (const { item, problems } of byKey.values()) {
    const error = problems.length > 0 ? describe(item, problems) : await missingFile(root, item);
    if (error === undefined) items.push(item);
    else skipped.push({ lines: item.lines, image: item.image, text: item.text, error });
  }
  return { source, root, form, groupColumn: names.includes('group'), items, skipped };
}

/** Which form the header names; neither or both is an error naming the two forms. */
function formOf(file: string, names: string[]): 'boxes' | 'masks' {
  const wanted = ['image', 'text'].filter((c) => !names.includes(c));
  const boxes = BOX_COLUMNS.every((c) => names.includes(c));
  const mask = names.includes('mask');
  const fix = 'the first line must name the columns image,text,x0,y0,x1,y1 (a box) or image,text,mask (a mask image)';
  if (wanted.length > 0) throw new UserError(`${file}: no ${wanted.map((c) => `'${c}'`).join(' or ')} column (the header is ${names.join(',')}); ${fix}`);
  if (boxes && mask) throw new UserError(`${file}: both box columns (x0,y0,x1,y1) and a mask column; keep one form per file`);
  if (!boxes && !mask) {
    const some = BOX_COLUMNS.filter((c) => names.includes(c));
    const detail = some.length > 0 ? `only ${some.join(',')} of the box columns` : 'no box or mask columns';
    throw new UserError(`${file}: ${detail} (the header is ${names.join(',')}); ${fix}`);
  }
  return boxes ? 'boxes' : 'masks';
}

const box = (v: Record<string, string>): Box => ({ x0: Number(v.x0), y0: Number(v.y0), x1: Number(v.x1), y1: Number(v.y1) });

/** What is wrong with one CSV line, or undefined. */
function lineProblem(v: Record<string, string>, columns: string[], form: 'boxes' | 'masks', item: GroundingItem): string | undefined {
  const empty = columns.filter((c) => c !== 'group' && v[c] === '');
  if (empty.length > 0) return `empty ${empty.map((c) => `'${c}'`).join(', ')}; every line needs ${columns.filter((c) => c !== 'group').join(', ')}`;
  if ((v.group || v.text) !== item.group) return `group '${v.group}' here but '${item.group}' on line ${item.lines[0]}; keep one group per image and text`;
  if (form === 'masks') return undefined;
  const bad = BOX_COLUMNS.filter((c) => !Number.isFinite(Number(v[c])));
  if (bad.length > 0) return `${bad.map((c) => `${c} '${v[c]}'`).join(', ')} is not a number; box coordinates are pixels of the original image`;
  const b = box(v);
  if (boxIsEmpty(b)) return `the box (${b.x0}, ${b.y0})-(${b.x1}, ${b.y1}) has zero area; boxes are inclusive-exclusive, so x1 > x0 and y1 > y0`;
  return undefined;
}

/** A row's line problems as one sentence: the first, naming its line when the row has several. */
function describe(item: GroundingItem, problems: Array<{ line: number; problem: string }>): string {
  const [first] = problems;
  if (item.lines.length === 1) return first.problem;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more bad lines)` : '';
  return `line ${first.line}: ${first.problem}${more}; the row's other lines are left out with it (its region would be incomplete)`;
}

/** The first of the row's files (its image, its masks) that does not exist, as the skip reason. */
async function missingFile(root: string, item: GroundingItem): Promise<string | undefined> {
  for (const [what, file] of [['image', item.image], ...item.masks.map((m) => ['mask', m])]) {
    const stat = await fs.stat(path.resolve(root, file)).catch(() => undefined);
    if (!stat?.isFile()) return `no ${what} at ${file}; fix the path (relative to the CSV's folder) or remove the row`;
  }
  return undefined;
}
