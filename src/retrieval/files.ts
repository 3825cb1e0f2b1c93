/**
 * Which files an index covers: every file under the images directory whose extension names an image
 * format, found recursively and sorted, so two runs over the same tree see the same order (resume then
 * continues where the last run stopped). Files with other extensions are counted, not silently dropped.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';

/** Extensions tried as images; a file that fails to decode is reported as skipped, never dropped. */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp', '.gif']);

export interface ImageListing {
  /** Paths relative to the root, '/'-separated, sorted. */
  images: string[];
  /** Files seen whose extension is not an image's. */
  otherFiles: number;
  /** Folders under root that an earlier biomedclip run wrote (OUTPUT_MARKS), left out; absolute paths. */
  outputs: string[];
}

/**
 * Files that together mark a folder as one of our outputs: an index (or an evaluation cache's store) and
 * an evaluation report. Such a folder inside the data is our output, not the user's images (and a report
 * of an earlier version holds PNG charts), so a run that was not told about it with --out or --cache
 * leaves it out and reports it instead.
 */
const OUTPUT_MARKS = [
  ['index.json', 'rows.lance'],
  ['index.json', 'manifest.jsonl', 'embeddings.npy'], // an index of an older version, or an export
  ['metrics.json', 'report.md'],
];

/**
 * @param root     the images directory
 * @param exclude  directories to leave out, wherever they are under root: our own outputs (an index, an
 *                 evaluation report or cache) are never read back as images
 */
export async function listImages(root: string, exclude: string[] = []): Promise<ImageListing> {
  const skip = new Set(exclude.map((p) => path.resolve(p)));
  const stat = await fs.stat(root).catch(() => undefined);
  if (!stat?.isDirectory()) throw new UserError(`${root}: not a directory; pass the folder that holds the images`, 2);
  const images: string[] = [];
  const outputs: string[] = [];
  let otherFiles = 0;
  const walk = async (dir: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true });
    const names = new Set(entries.map((e) => e.name));
    if (dir !== root && OUTPUT_MARKS.some((mark) => mark.every((n) => names.has(n)))) {
      outputs.push(dir);
      return;
    }
    for (const ent of entries) {
      const full = path.join(dir, ent.name);
      if (skip.has(full)) continue;
      // Symlinked directories are not followed (no cycles); symlinked files are.
      const isFile = ent.isFile() || (ent.isSymbolicLink() && (await fs.stat(full).catch(() => undefined))?.isFile());
      if (ent.isDirectory()) await walk(full);
      else if (isFile && IMAGE_EXTENSIONS.has(path.extname(ent.name).toLowerCase())) images.push(path.relative(root, full).split(path.sep).join('/'));
      else if (isFile) otherFiles++;
    }
  };
  await walk(root);
  images.sort();
  return { images, otherFiles, outputs };
}
