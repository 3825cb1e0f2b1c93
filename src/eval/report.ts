/**
 * The `--out` report directory, written whole or not at all: every file goes into a temporary folder
 * beside the target, which then replaces it in one rename. A failure leaves the previous report (or
 * nothing) in place, never a mix. The target is checked before the run starts, so a wrong --out fails in
 * a second and not after an hour of embedding.
 *
 *   classify:  metrics.json, predictions.csv, confusion.svg, calibration.svg, report.md
 *   retrieval: metrics.json, ranks.csv, report.md
 *   grounding: metrics.json, rows.csv, maps.npy, report.md, figure-<method>.png (grounding/files.ts)
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { csvRow, jsonText } from '../util/format.js';
import { UserError } from '../errors.js';
import { tempPathFor } from '../util/atomic.js';
import { describeFsError, folderProblem } from '../util/writable.js';
import type { ClassifyRun } from './classify.js';
import { confusionSvg, reliabilitySvg } from './charts.js';
import { classifyMarkdown, retrievalMarkdown } from './format.js';
import type { RetrievalRun } from './retrieval.js';

export type ReportKind = 'classification' | 'retrieval' | 'grounding';

/** The files each kind of report consists of (a name, or a pattern of names): a folder holding only these is ours to replace. */
const REPORT_FILES: Record<ReportKind, Array<string | RegExp>> = {
  classification: ['metrics.json', 'predictions.csv', 'confusion.svg', 'calibration.svg', 'report.md'],
  retrieval: ['metrics.json', 'ranks.csv', 'report.md'],
  grounding: ['metrics.json', 'rows.csv', 'maps.npy', 'report.md', /^figure-[a-z0-9-]+\.png$/],
};

/** Files earlier versions wrote into a report (the charts were PNGs): a folder holding them is still ours. */
const FORMER_FILES: Record<ReportKind, string[]> = {
  classification: ['confusion.png', 'calibration.png'],
  retrieval: [],
  grounding: [],
};

const ours = (kind: ReportKind, name: string): boolean =>
  FORMER_FILES[kind].includes(name) || REPORT_FILES[kind].some((f) => (typeof f === 'string' ? f === name : f.test(name)));

/** metrics.json's `task` for each kind. */
const TASKS: Record<string, ReportKind> = { 'zero-shot classification': 'classification', 'cross-modal retrieval': 'retrieval', grounding: 'grounding' };

/**
 * Refuses an --out that cannot be written, or that exists and is neither empty nor an earlier report of
 * the same kind: replacing it would delete what the user keeps there (notes, another task's report)
 * without a word. Only a folder holding nothing but our own report files, with a metrics.json of `kind`,
 * is replaced.
 */
export async function checkOutDir(out: string, kind: ReportKind): Promise<void> {
  const refuse = (why: string): never => {
    throw new UserError(`--out ${out}: ${why}`, 2);
  };
  const names = await fs.readdir(out).catch((err: NodeJS.ErrnoException): string[] => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
    return refuse(`cannot read it (${describeFsError(err, out)}); pass another --out`);
  });
  const stat = await fs.stat(out).catch(() => undefined);
  if (stat !== undefined && !stat.isDirectory()) refuse('is a file; pass a new or empty folder (or an earlier report) as --out');
  const problem = await folderProblem(path.dirname(path.resolve(out)));
  if (problem !== undefined) refuse(`cannot create it (${problem}); pass another --out`);
  if (names.length === 0) return;
  const foreign = names.filter((n) => !ours(kind, n));
  const task = names.includes('metrics.json') ? await reportTask(path.join(out, 'metrics.json')) : undefined;
  if (task !== undefined && task !== kind) refuse(`holds a ${task} report, not a ${kind} one; pass another --out (or delete that report first)`);
  if (foreign.length > 0 || task === undefined) {
    const shown = (foreign.length > 0 ? foreign : names).slice(0, 3).join(', ');
    refuse(
      `holds ${shown}${names.length > 3 ? ' and more' : ''}, not part of a ${kind} report; move ${foreign.length === 1 ? 'it' : 'them'} out or pass another --out (a new or empty folder)`,
    );
  }
}

/** The kind of report a metrics.json belongs to, or undefined when it is not one of ours. */
async function reportTask(file: string): Promise<ReportKind | undefined> {
  try {
    return TASKS[(JSON.parse(await fs.readFile(file, 'utf8')) as { task?: string }).task ?? ''];
  } catch {
    return undefined;
  }
}

export function classifyReportFiles(run: ClassifyRun): Record<string, string> {
  const r = run.report;
  const demo = r.model.demo ? [r.model.warning as string] : [];
  // Score columns are prefixed: a class may be called `image`, `label` or `model` like the fixed columns.
  const header = csvRow(['image', 'label', 'predicted', ...r.data.classes.map((c) => `p:${c}`), ...(demo.length ? ['model'] : [])]);
  const lines = run.predictions.map((p) => csvRow([p.image, p.label, p.predicted, ...p.probs, ...demo]));
  const title = (what: string) => [
    `${what}: n = ${r.n}, accuracy ${r.accuracy.toFixed(4)}, ECE ${r.ece.toFixed(4)}`,
    ...(r.model.demo ? [`model: ${r.model.warning}`] : []),
  ];
  return {
    'metrics.json': jsonText(r) + '\n',
    'predictions.csv': [header, ...lines].join('\n') + '\n',
    'confusion.svg': confusionSvg(r.data.classes, r.confusion_matrix.counts, title('Confusion matrix')),
    'calibration.svg': reliabilitySvg(r.calibration, title('Reliability diagram')),
    'report.md': classifyMarkdown(r),
  };
}

export function retrievalReportFiles(run: RetrievalRun): Record<string, string> {
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
export async function writeReportDir(out: string, kind: ReportKind, files: Record<string, string | Uint8Array>): Promise<void> {
  const target = path.resolve(out);
  const fresh = tempPathFor(target);
  const old = tempPathFor(target);
  let moved = false; // the earlier report is at `old`, to put back if the swap fails
  try {
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.mkdir(fresh);
    for (const [name, data] of Object.entries(files)) await fs.writeFile(path.join(fresh, name), data);
    await checkOutDir(out, kind);
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
    // The temporary folder's name means nothing to the user: name their --out and the cause instead.
    if (err instanceof UserError || (err as NodeJS.ErrnoException).code === undefined) throw err;
    throw new UserError(`--out ${out}: cannot write the report (${describeFsError(err, path.dirname(target))}); nothing was written, pass another --out`);
  }
}
