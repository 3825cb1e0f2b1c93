import { promises as fs } from 'node:fs';
import type { Command } from '../command.js';
import { intOption, MODEL_HELP, MODEL_OPTIONS, modelLabel, openModel, parse, printJson } from '../common.js';
import { MAX_BATCH } from '../../api/biomedclip.js';
import { UserError } from '../../errors.js';
import { buildIndex } from '../../retrieval/build.js';
import { resolveShard, shardLabel } from '../../retrieval/shard.js';
import { ANN_MIN_ROWS } from '../../retrieval/vector-index.js';
import { EXPORT_HELP, EXPORT_SYNOPSIS, runExport } from './index-export.js';
import { sayOnInterrupt } from '../../util/interrupt.js';
import { progressBar, type Progress } from '../../util/progress.js';
import { folderProblem } from '../../util/writable.js';

/** Exit code when the index is complete but some files could not be embedded (they are listed). */
export const EXIT_SKIPPED = 3;

export const command: Command = {
  usage: `Usage: biomedclip index IMAGES_DIR --out INDEX [options]
${EXPORT_SYNOPSIS}

Embeds every image under IMAGES_DIR (recursively: .jpg .jpeg .png .bmp .tif .tiff .webp .gif, each
decoded as Pillow decodes it: a GIF's first frame, a TIFF's first page) into the index directory INDEX,
for \`biomedclip search\`:
  INDEX/rows.lance/      a LanceDB table, one row per image: path (relative to IMAGES_DIR), size,
                         mtime_ms, sha256, vector (E float32, L2-normalized)
  INDEX/index.json       image root, model, embed dim, count, skipped files

Batches run on every core (one worker per core by default, --workers) and are committed in order, each
after all before it: after Ctrl-C or a kill, rerun the same command and only the images not yet
committed are embedded (Ctrl-C says how many are; each batch is one LanceDB commit). Running it
again later brings the index up to date: new images are added, files whose size or mtime changed (and
rows holding NaN or Inf) are embedded again into their rows; rows of files that are gone are kept and
reported unless --prune removes them. Files that cannot be read or decoded are reported on stderr,
listed in the output and in index.json, and skipped. A folder with no images is an error. Past
${ANN_MIN_ROWS.toLocaleString('en-US')} rows, a finished run also trains an approximate vector index (IVF-PQ) that search uses.

Array jobs: N processes (or machines sharing the folder and INDEX) each run the same command with
--shard K/N and embed a disjoint 1/N of the files (by a hash of each file's path, so new files move
no others) into the one table, side by side; rerunning a task resumes its shard. Without --shard,
K/N is read from a Slurm array of tasks 0..N-1 (SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT); with
--shards N, K is the Slurm task id or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX. The index is
complete when every shard has finished.
Scripts for Slurm and Kubernetes: docs/retrieval.md.

Options:
  --out INDEX        index directory (created; must be new, empty, or an index of the same folder and model)
  --batch-size N     images per forward pass and per commit (default 16, at most 256)
  --prune            remove the rows of indexed files that no longer exist (of this shard, with --shard)
  --shard K/N        embed only shard K (0..N-1) of N; the other shards' tasks embed the rest
  --shards N         N shards, this task's K from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX
${MODEL_HELP}

${EXPORT_HELP}

Exit codes: 0 every image indexed; 3 index complete but some files were skipped (listed);
            1 other errors; 2 bad arguments.

Output (--json): {"index","root","count","embedDim","added","alreadyIndexed","complete","skipped":[{"path","error"}],
                  "changed","repaired","removed","missing","otherFiles","outputs","model":{"dir","fingerprint"},
                  "shard":{"index","count","source","files"} (with --shard)}

Examples:
  biomedclip index assets/examples --out examples.index --model demo
  biomedclip index ./scans --out ./scans.index --model ./biomedclip --batch-size 32 --json
  biomedclip index ./scans --out ./scans.index --model ./biomedclip --shard 3/8
  python -c "import lancedb; print(lancedb.connect('scans.index').open_table('rows').count_rows())"
  biomedclip index export scans.index --npy scans.npy`,

  async run(args) {
    if (args[0] === 'export') return runExport(args.slice(1));
    const { values, positionals } = parse('index', args, {
      allowPositionals: true,
      options: {
        ...MODEL_OPTIONS,
        out: { type: 'string' },
        'batch-size': { type: 'string' },
        prune: { type: 'boolean', default: false },
        shard: { type: 'string' },
        shards: { type: 'string' },
      },
    });
    if (positionals.length !== 1) throw new UserError('expected one IMAGES_DIR; see `biomedclip index --help`', 2);
    if (!values.out) throw new UserError('missing --out INDEX (the index directory to create or resume)', 2);
    const batchSize = intOption('batch-size', values['batch-size'], 1, MAX_BATCH, 'images per forward pass, each holding its activations');
    const shard = resolveShard(values);
    await checkOut(values.out);
    if (shard && values.shard === undefined && !values.quiet) console.error(`biomedclip: shard ${shardLabel(shard)} (from ${shard.source})`);
    const clip = await openModel(values);
    let bar: Progress | undefined; // drawn from the start, when the number of images to do is known
    let counts: { indexed: number; total: number; committed: () => number } | undefined; // known once the index is open
    const of = shard ? ` of shard ${shardLabel(shard)}` : '';
    const say = () =>
      counts === undefined
        ? ''
        : `${counts.indexed + counts.committed()}/${counts.total} images${of} committed to ${values.out}; run the same command to resume`;
    try {
      const result = await sayOnInterrupt(say, () =>
        buildIndex(clip, {
          imagesDir: positionals[0],
          outDir: values.out as string,
          batchSize,
          shard,
          prune: values.prune,
          onStart: (c) => {
            counts = c;
            if (!values.quiet && c.todo > 0) (bar = progressBar('index', c.todo, 'images')).update(0);
          },
          onProgress: (done) => bar?.update(done),
          onSkip: (s) => {
            bar?.done(); // clear the bar's line first so the report starts on a clean line
            console.error(`biomedclip: skipped ${s.path}: ${s.error}`);
          },
        }),
      );
      bar?.done();
      bar = undefined;
      const label = modelLabel(clip);
      if (values.json) printJson({ ...label.json, ...result });
      else {
        label.tableHeader();
        printSummary(result, values.quiet);
      }
      return result.skipped.length > 0 ? EXIT_SKIPPED : 0;
    } finally {
      bar?.done();
      clip.dispose();
    }
  },
};

/** --out must be a folder we can create or write in: said before the model loads, naming the path given. */
async function checkOut(out: string): Promise<void> {
  const stat = await fs.stat(out).catch(() => undefined);
  if (stat !== undefined && !stat.isDirectory())
    throw new UserError(`--out ${out}: is a file; pass a folder for the index (new, empty, or an earlier index of the same images)`, 2);
  const problem = await folderProblem(out);
  if (problem !== undefined) throw new UserError(`--out ${out}: cannot ${stat ? 'write in' : 'create'} it (${problem}); pass another --out`, 2);
}

function printSummary(r: Awaited<ReturnType<typeof buildIndex>>, quiet: boolean | undefined): void {
  const updated = r.changed.length + r.repaired.length;
  const parts = [
    `added ${r.added}`,
    ...(updated > 0 ? [`embedded again ${updated}`] : []),
    ...(r.removed.length > 0 ? [`removed ${r.removed.length}`] : []),
    `already indexed ${r.alreadyIndexed}`,
    `skipped ${r.skipped.length}`,
  ];
  const shard = r.shard ? `shard ${r.shard.index}/${r.shard.count}: ${r.shard.files} files (${parts.join(', ')}); ` : '';
  const whole = r.shard
    ? `${r.count} images in the index so far${r.complete ? ', every shard finished' : ''}`
    : `${r.count} images, ${r.embedDim}-d embeddings (${parts.join(', ')})`;
  console.log(`${r.index}: ${shard}${whole}`);
  if (quiet) return;
  if (r.otherFiles > 0) console.error(`biomedclip: note: ${r.otherFiles} files without an image extension were not indexed`);
  if (r.outputs.length > 0)
    console.error(`biomedclip: note: ${r.outputs.length} folders written by biomedclip (indexes, reports, caches) were not indexed (e.g. ${r.outputs[0]})`);
  if (r.changed.length > 0) console.error(`biomedclip: note: ${r.changed.length} files changed since they were indexed (e.g. ${r.changed[0]}): embedded again`);
  if (r.repaired.length > 0)
    console.error(`biomedclip: note: ${r.repaired.length} rows held NaN, Inf or a non-unit vector (e.g. ${r.repaired[0]}): embedded again`);
  if (r.removed.length > 0)
    console.error(`biomedclip: note: ${r.removed.length} indexed files no longer exist (e.g. ${r.removed[0]}): their rows were removed`);
  if (r.missing.length > 0)
    console.error(
      `biomedclip: note: ${r.missing.length} indexed files no longer exist (e.g. ${r.missing[0]}): their rows are kept; add --prune to remove them`,
    );
}
