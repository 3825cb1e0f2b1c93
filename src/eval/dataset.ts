/**
 * Reading an evaluation dataset into a list of (image, class) or (image, caption) items, with every
 * inconsistency reported before anything runs: a class folder without images, a CSV without the needed
 * columns, labels the label file does not name. Image files are only listed here; one that cannot be
 * decoded is found (and skipped, and reported) when it is embedded.
 *
 * Classification data is an image folder with one subfolder per class (torchvision's ImageFolder layout,
 * images found recursively inside each) or a CSV with `image,label` columns. Retrieval data is a CSV with
 * `image,caption` columns. CSV image paths are relative to the CSV's folder (or absolute).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';
import { listImages } from '../retrieval/files.js';
import { readCsvColumns, type CsvTable } from './csv.js';
import { distinctDescriptions, promptsFromNames, readLabelFile, type ClassPrompts } from './labels.js';

export interface ClassificationData extends ClassPrompts {
  /** Absolute path of the folder or CSV. */
  source: string;
  layout: 'folder' | 'csv';
  /** The folder image paths are relative to (the data folder, or the CSV's folder). */
  root: string;
  /** One per image: path relative to `root` ('/'-separated) and class index. */
  items: Array<{ path: string; label: number }>;
  /** Things the listing left out, said on stderr (files outside class folders, non-image files). */
  notes: string[];
}

export interface LabelSource {
  labelsFile?: string;
  classesFromFolders?: boolean;
  /** Folders to leave out of the listing: the report and the embedding cache, when they live inside the data. */
  exclude?: string[];
}

export async function loadClassificationData(data: string, labels: LabelSource): Promise<ClassificationData> {
  const source = path.resolve(data);
  const stat = await fs.stat(source).catch(() => undefined);
  if (stat === undefined)
    throw new UserError(`${data}: no such file or folder; pass an image folder (one subfolder per class) or a CSV with image,label columns`, 2);
  if (labels.labelsFile === undefined && !labels.classesFromFolders)
    throw new UserError('say how classes become prompts: --labels-file L.json or --classes-from-folders', 2);
  if (labels.labelsFile !== undefined && labels.classesFromFolders)
    throw new UserError('--labels-file and --classes-from-folders exclude each other; pick one', 2);
  const named = labels.labelsFile !== undefined ? await readLabelFile(labels.labelsFile) : undefined;
  if (named !== undefined) distinctDescriptions(named, `--labels-file ${labels.labelsFile}`);
  if (stat.isDirectory())
    return fromFolder(
      source,
      named,
      (labels.exclude ?? []).map((p) => path.resolve(p)),
    );
  if (labels.classesFromFolders) throw new UserError(`${data}: --classes-from-folders needs an image folder; for a CSV pass --labels-file L.json`, 2);
  return fromCsv(source, named as ClassPrompts);
}

async function fromFolder(root: string, named: ClassPrompts | undefined, exclude: string[]): Promise<ClassificationData> {
  const listing = await listImages(root, exclude);
  const listed = (await fs.readdir(root, { withFileTypes: true }))
    .filter((d) => d.isDirectory() && !d.name.startsWith('.') && !exclude.includes(path.join(root, d.name)))
    .map((d) => d.name)
    .sort();
  const byFolder = new Map<string, string[]>(listed.map((f) => [f, []]));
  let outside = 0;
  for (const rel of listing.images) {
    const slash = rel.indexOf('/');
    const images = slash < 0 ? undefined : byFolder.get(rel.slice(0, slash));
    if (images) images.push(rel);
    else outside++; // at the top level, or in a hidden folder
  }
  // A folder without images that is, or only leads to, our own output (XDG_CACHE_HOME=DATA/cache holding
  // the cache; CACHE/ holding images/ and texts/; an earlier report) is no class.
  const ours = [...exclude, ...listing.outputs];
  const leadsToOurs = (f: string) => ours.some((e) => e === path.join(root, f) || e.startsWith(path.join(root, f) + path.sep));
  const folders = listed.filter((f) => !(leadsToOurs(f) && byFolder.get(f)?.length === 0));
  if (folders.length < 2)
    throw new UserError(`${root}: ${folders.length} class folder(s); zero-shot classification needs one subfolder of images per class, at least 2`);
  const empty = folders.find((f) => byFolder.get(f)?.length === 0);
  if (empty !== undefined) throw new UserError(`${path.join(root, empty)}: class folder with no images; add its images or remove the folder`);
  const prompts = named ?? distinctDescriptions(promptsFromNames(folders), root);
  const index = classIndex(prompts);
  const unknown = folders.find((f) => !index.has(f));
  if (unknown !== undefined)
    throw new UserError(
      `${path.join(root, unknown)}: class '${unknown}' is not in the label file (its classes: ${prompts.classes.join(', ')}); add it there or move the folder out`,
    );
  const absent = prompts.classes.find((c) => !folders.includes(c));
  if (absent !== undefined)
    throw new UserError(
      `class '${absent}' of the label file has no images in ${root}; add ${path.join(root, absent)}/ or remove the class from the label file`,
    );
  const items = prompts.classes.flatMap((c, label) => (byFolder.get(c) ?? []).map((p) => ({ path: p, label })));
  const notes: string[] = [];
  if (outside > 0) notes.push(`${outside} images outside the class folders (top level or hidden folders) are not evaluated`);
  if (listing.otherFiles > 0) notes.push(`${listing.otherFiles} files without an image extension are not evaluated`);
  if (listing.outputs.length > 0)
    notes.push(
      `${listing.outputs.length} folders written by biomedclip (reports, indexes, caches) are not evaluated: ${listing.outputs
        .slice(0, 3)
        .map((o) => path.relative(root, o))
        .join(', ')}`,
    );
  return { ...prompts, source: root, layout: 'folder', root, items, notes };
}

async function fromCsv(file: string, named: ClassPrompts): Promise<ClassificationData> {
  const table = await readCsvColumns(file, ['image', 'label']);
  const root = path.dirname(file);
  const index = classIndex(named);
  oneRowPerImage(
    file,
    root,
    table.rows,
    (row, first) => `${row.values[0]} is labelled '${row.values[1]}' here and '${first.values[1]}' on line ${first.line}; keep one label per image`,
  );
  const unknown = table.rows.filter((r) => !index.has(r.values[1]));
  if (unknown.length > 0) {
    const names = [...new Set(unknown.map((r) => r.values[1]))];
    const shown =
      names
        .slice(0, 3)
        .map((n) => `'${n}'`)
        .join(', ') + (names.length > 3 ? ` and ${names.length - 3} more` : '');
    throw new UserError(
      `${file}:${unknown[0].line}: label ${shown} not in the label file (${unknown.length} rows); add ${names.length > 1 ? 'them' : 'it'} to the label file or fix the CSV`,
    );
  }
  const counts = new Array<number>(named.classes.length).fill(0);
  const items = table.rows.map((r) => {
    const label = index.get(r.values[1]) as number;
    counts[label]++;
    return { path: relativeTo(root, r.values[0]), label };
  });
  const absent = counts.findIndex((c) => c === 0);
  if (absent >= 0)
    throw new UserError(`class '${named.classes[absent]}' of the label file has no rows in ${file}; add its images or remove the class from the label file`);
  await imagesExist(file, root, table.rows);
  return { ...named, source: file, layout: 'csv', root, items, notes: [] };
}

export interface CaptionData {
  source: string;
  root: string;
  /** One per CSV row: image path relative to `root` and the caption. */
  pairs: Array<{ path: string; caption: string }>;
}

export async function loadCaptionData(data: string): Promise<CaptionData> {
  const source = path.resolve(data);
  const stat = await fs.stat(source).catch(() => undefined);
  if (!stat?.isFile()) throw new UserError(`${data}: not a file; pass a CSV with image,caption columns`, 2);
  const table = await readCsvColumns(source, ['image', 'caption']);
  const root = path.dirname(source);
  // An image on several rows with different captions is allowed (several correct captions); the same pair twice is not.
  oneRowPerImage(source, root, table.rows);
  await imagesExist(source, root, table.rows);
  return { source, root, pairs: table.rows.map((r) => ({ path: relativeTo(root, r.values[0]), caption: r.values[1] })) };
}

/**
 * Refuses a CSV row whose (image, second column) pair an earlier row already gave: it would count twice in
 * every metric. With `conflict`, a second row for the same image with another value is refused too, with
 * that message (classification: one label per image). Paths are compared resolved ('./a.png' is 'a.png').
 */
function oneRowPerImage(
  file: string,
  root: string,
  rows: CsvTable['rows'],
  conflict?: (row: CsvTable['rows'][number], first: CsvTable['rows'][number]) => string,
): void {
  const seen = new Map<string, CsvTable['rows'][number]>();
  for (const row of rows) {
    const image = relativeTo(root, row.values[0]);
    const key = conflict ? image : `${image}\0${row.values[1]}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, row);
    } else if (first.values[1] === row.values[1]) {
      throw new UserError(`${file}:${row.line}: the same row as line ${first.line} (${row.values[0]}, ${row.values[1]}); remove the duplicate`);
    } else if (conflict) {
      throw new UserError(`${file}:${row.line}: ${conflict(row, first)}`);
    }
  }
}

/** Every image a CSV names must be a file: said before the model loads, naming the row, not a raw ENOENT later. */
async function imagesExist(file: string, root: string, rows: CsvTable['rows']): Promise<void> {
  const missing: CsvTable['rows'] = [];
  for (const row of rows) {
    const stat = await fs.stat(path.resolve(root, row.values[0])).catch(() => undefined);
    if (!stat?.isFile()) missing.push(row);
  }
  if (missing.length > 0) {
    throw new UserError(
      `${file}:${missing[0].line}: no image at ${missing[0].values[0]} (${missing.length} of ${rows.length} rows name a missing file); fix the path (relative to the CSV's folder) or remove the row`,
    );
  }
}

function classIndex(prompts: ClassPrompts): Map<string, number> {
  return new Map(prompts.classes.map((c, i) => [c, i]));
}

/** A CSV image path as a '/'-separated path relative to the CSV's folder (may climb with '..'). */
export function relativeTo(root: string, value: string): string {
  return path.relative(root, path.resolve(root, value)).split(path.sep).join('/');
}
