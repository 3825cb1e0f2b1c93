/**
 * The `--out` report directory, written whole or not at all: every file goes into a temporary folder
 * beside the target, which then replaces it in one rename. A failure leaves the previous report (or
 * nothing) in place, never a mix. The target is checked before the run starts, so a wrong --out fails in
 * a second and not after an hour of embedding.
 *
 *   classify:  metrics.json, predictions.csv, confusion.png, calibration.png, report.md
 *   retrieval: metrics.json, ranks.csv, report.md
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { csvRow, jsonText } from '../cli/common.js';
import { UserError } from '../errors.js';
import { tempPathFor } from '../util/atomic.js';
import type { ClassifyRun } from './classify.js';
import { confusionPng, reliabilityPng } from './charts.js';
import { classifyMarkdown, retrievalMarkdown } from './format.js';
import type { RetrievalRun } from './retrieval.js';

/** Refuses an --out that exists and is neither empty nor an earlier report (it holds no metrics.json). */
export async function checkOutDir(out: string): Promise<void> {
  const names = await fs.readdir(out).catch((err: NodeJS.ErrnoException): string[] => {
    if (err.code === 'ENOENT') return [];
    throw new UserError(`--out ${out}: ${err.code === 'ENOTDIR' ? 'is a file' : `cannot read (${err.code})`}; pass a new or empty folder`, 2);
  });
  if (names.length > 0 && !names.includes('metrics.json')) {
    throw new UserError(`--out ${out}: folder is not empty and holds no earlier report (metrics.json); pass a new or empty folder`, 2);
  }
}

export function classifyReportFiles(run: ClassifyRun): Record<string, string | Buffer> {
  const r = run.report;
  const demo = r.model.demo ? [r.model.warning as string] : [];
  const header = csvRow(['image', 'label', 'predicted', ...r.data.classes, ...(demo.length ? ['model'] : [])]);
  const lines = run.predictions.map((p) => csvRow([p.image, p.label, p.predicted, ...p.probs, ...demo]));
  const title = (what: string) => [`${what}: n = ${r.n}, accuracy ${r.accuracy.toFixed(4)}, ECE ${r.ece.toFixed(4)}`, ...(r.model.demo ? [`model: ${r.model.warning}`] : [])];
  return {
    'metrics.json': jsonText(r) + '\n',
    'predictions.csv': [header, ...lines].join('\n') + '\n',
    'confusion.png': confusionPng(r.data.classes, r.confusion_matrix.counts, title('Confusion matrix')),
    'calibration.png': reliabilityPng(r.calibration, title('Reliability diagram')),
    'report.md': classifyMarkdown(r),
  };
}

export function retrievalReportFiles(run: RetrievalRun): Record<string, string | Buffer> {
  const demo = run.report.model.demo ? [run.report.model.warning as string] : [];
  const header = csvRow(['direction', 'query', 'rank', ...(demo.length ? ['model'] : [])]);
  const lines = run.ranks.map((x) => csvRow([x.direction, x.query, x.rank, ...demo]));
  return {
    'metrics.json': jsonText(run.report) + '\n',
    'ranks.csv': [header, ...lines].join('\n') + '\n',
    'report.md': retrievalMarkdown(run.report),
  };
}

/** Writes `files` as the folder `out`, replacing an earlier report there. */
export async function writeReportDir(out: string, files: Record<string, string | Buffer>): Promise<void> {
  const target = path.resolve(out);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const fresh = tempPathFor(target);
  const old = tempPathFor(target);
  let moved = false; // the earlier report is at `old`, to put back if the swap fails
  try {
    await fs.mkdir(fresh);
    for (const [name, data] of Object.entries(files)) await fs.writeFile(path.join(fresh, name), data);
    await checkOutDir(target);
    moved = await fs.rename(target, old).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        throw err;
      },
    );
    await fs.rename(fresh, target);
    if (moved) await fs.rm(old, { recursive: true, force: true });
  } catch (err) {
    await fs.rm(fresh, { recursive: true, force: true });
    if (moved) await fs.rename(old, target).catch(() => undefined);
    throw err;
  }
}
