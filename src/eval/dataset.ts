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
import { readCsvColumns } from './csv.js';
import { promptsFromNames, readLabelFile, type ClassPrompts } from './labels.js';

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
  /** A folder to leave out of the listing (the embedding cache, when it lives inside the data). */
  exclude?: string;
}

export async function loadClassificationData(data: string, labels: LabelSource): Promise<ClassificationData> {
  const source = path.resolve(data);
  const stat = await fs.stat(source).catch(() => undefined);
  if (stat === undefined) throw new UserError(`${data}: no such file or folder; pass an image folder (one subfolder per class) or a CSV with image,label columns`, 2);
  if (labels.labelsFile === undefined && !labels.classesFromFolders) throw new UserError('say how classes become prompts: --labels-file L.json or --classes-from-folders', 2);
  if (labels.labelsFile !== undefined && labels.classesFromFolders) throw new UserError('--labels-file and --classes-from-folders exclude each other; pick one', 2);
  const named = labels.labelsFile !== undefined ? await readLabelFile(labels.labelsFile) : undefined;
  if (stat.isDirectory()) return fromFolder(source, named, labels.exclude === undefined ? undefined : path.resolve(labels.exclude));
  if (labels.classesFromFolders) throw new UserError(`${data}: --classes-from-folders needs an image folder; for a CSV pass --labels-file L.json`, 2);
  return fromCsv(source, named as ClassPrompts);
}

async function fromFolder(root: string, named: ClassPrompts | undefined, exclude?: string): Promise<ClassificationData> {
  const listing = await listImages(root, exclude);
  const folders = (await fs.readdir(root, { withFileTypes: true }))
    .filter((d) => d.isDirectory() && !d.name.startsWith('.') && path.join(root, d.name) !== exclude)
    .map((d) => d.name)
    .sort();
  const byFolder = new Map<string, string[]>(folders.map((f) => [f, []]));
  let outside = 0;
  for (const rel of listing.images) {
    const slash = rel.indexOf('/');
    const images = slash < 0 ? undefined : byFolder.get(rel.slice(0, slash));
    if (images) images.push(rel);
    else outside++; // at the top level, or in a hidden folder
  }
  if (folders.length < 2) throw new UserError(`${root}: ${folders.length} class folder(s); zero-shot classification needs one subfolder of images per class, at least 2`);
  const empty = folders.find((f) => byFolder.get(f)?.length === 0);
  if (empty !== undefined) throw new UserError(`${path.join(root, empty)}: class folder with no images; add its images or remove the folder`);
  const prompts = named ?? promptsFromNames(folders);
  const index = classIndex(prompts);
  const unknown = folders.find((f) => !index.has(f));
  if (unknown !== undefined) throw new UserError(`${path.join(root, unknown)}: class '${unknown}' is not in the label file (its classes: ${prompts.classes.join(', ')}); add it there or move the folder out`);
  const absent = prompts.classes.find((c) => !byFolder.has(c));
  if (absent !== undefined) throw new UserError(`class '${absent}' of the label file has no images in ${root}; add ${path.join(root, absent)}/ or remove the class from the label file`);
  const items = prompts.classes.flatMap((c, label) => (byFolder.get(c) ?? []).map((p) => ({ path: p, label })));
  const notes: string[] = [];
  if (outside > 0) notes.push(`${outside} images outside the class folders (top level or hidden folders) are not evaluated`);
  if (listing.otherFiles > 0) notes.push(`${listing.otherFiles} files without an image extension are not evaluated`);
  return { ...prompts, source: root, layout: 'folder', root, items, notes };
}

async function fromCsv(file: string, named: ClassPrompts): Promise<ClassificationData> {
  const table = await readCsvColumns(file, ['image', 'label']);
  const root = path.dirname(file);
  const index = classIndex(named);
  const unknown = table.rows.filter((r) => !index.has(r.values[1]));
  if (unknown.length > 0) {
    const names = [...new Set(unknown.map((r) => r.values[1]))];
    const shown = names.slice(0, 3).map((n) => `'${n}'`).join(', ') + (names.length > 3 ? ` and ${names.length - 3} more` : '');
    throw new UserError(`${file}:${unknown[0].line}: label ${shown} not in the label file (${unknown.length} rows); add ${names.length > 1 ? 'them' : 'it'} to the label file or fix the CSV`);
  }
  const counts = new Array<number>(named.classes.length).fill(0);
  const items = table.rows.map((r) => {
    const label = index.get(r.values[1]) as number;
    counts[label]++;
    return { path: relativeTo(root, r.values[0]), label };
  });
  const absent = counts.findIndex((c) => c === 0);
  if (absent >= 0) throw new UserError(`class '${named.classes[absent]}' of the label file has no rows in ${file}; add its images or remove the class from the label file`);
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
  return { source, root, pairs: table.rows.map((r) => ({ path: relativeTo(root, r.values[0]), caption: r.values[1] })) };
}

function classIndex(prompts: ClassPrompts): Map<string, number> {
  return new Map(prompts.classes.map((c, i) => [c, i]));
}

/** A CSV image path as a '/'-separated path relative to the CSV's folder (may climb with '..'). */
function relativeTo(root: string, value: string): string {
  return path.relative(root, path.resolve(root, value)).split(path.sep).join('/');
}
