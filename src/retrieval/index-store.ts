/**
 * The image index: a directory holding a LanceDB table of the embeddings (table.ts) and a small sidecar.
 *
 *   INDEX/index.json   what the index is: format, image root, model fingerprint, embed dim, count, skipped files (index-info.ts)
 *   INDEX/rows.lance/  the LanceDB table: path, size, mtime, sha256 and the L2-normalized embedding per file
 *
 * Every write is one LanceDB commit (a new table version, all or nothing), so a killed run loses at most
 * the batch in flight and the next run resumes from what the table holds, with nothing to repair. One
 * process writes an index at a time, or N shards of it side by side (lock.ts, shard.ts), each committing
 * its own files' rows; index.json is read and rewritten under a short lock of its own. NumPy users run
 * `biomedclip index export INDEX --npy DIR` (export.ts). See docs/retrieval.md for why this layout.
 */
import type * as lancedb from '@lancedb/lancedb';
import { promises as fs } from 'node:fs';
import { oneLine, UserError } from '../errors.js';
import { describeNonFinite, findNonFinite } from '../util/finite.js';
import { uninterrupted } from '../util/interrupt.js';
import {
  checkCompatible,
  createInfo,
  finishedInfo,
  readInfo,
  startedShards,
  writeInfo,
  type IndexInfo,
  type InfoOptions,
  type SkippedFile,
} from './index-info.js';
import { acquireWriterLock, withInfoLock, type Lock } from './lock.js';
import { rowProblem } from './rows.js';
import { inShard, type Shard } from './shard.js';
import { appendRows, deleteRows, METADATA_KEY, openTable, scanRows, TABLE_DIR, tableEmbedDim, upsertRows, type StoreEntry } from './table.js';
import { ANN_MIN_ROWS, buildVectorIndex, hasVectorIndex } from './vector-index.js';

export type { StoreEntry } from './table.js';
export { finishedInfo, INDEX_FORMAT, INDEX_VERSION, INFO_FILE, readInfo, writeInfo } from './index-info.js';
export type { IndexInfo, IndexModel, SkippedFile } from './index-info.js';

/**
 * A writer tidies the table (tidy()) after this many commits of its own. Each commit adds a data file (a
 * fragment) and a table version whose manifest lists every fragment, so without tidying the manifests
 * grow as the square of the commits (measured: 3 000 commits of 16 rows, 363 MB of manifests beside 106
 * MB of data). Tidying rewrites the small fragments, up to the whole table, into one: too often and the
 * rewriting grows as the square instead (every 256 commits: 637 MB written for 94 MB of rows). At 1 024,
 * a million rows in batches of 16 cost about 60 rewrites and manifests of at most ~100 KB
 * (docs/performance.md, "Index writes at scale").
 */
const TIDY_EVERY = 1024;
/**
 * Table versions younger than this are kept when tidying: a search that opened one (on any machine of
 * the cluster, clocks a little apart) can finish reading it (an exact scan of a million rows takes
 * seconds). Older ones, and the data files only they used, are deleted. Short, because what is kept
 * includes the copy each compaction superseded: writers committing many times a second would otherwise
 * keep many copies of the table.
 */
export const KEEP_VERSIONS_MS = 2 * 60_000;
/** The vector index is trained again when the table has grown this many times since it was trained. */
const RETRAIN_GROWTH = 4;

export interface OpenWriterOptions extends InfoOptions {
  /** Write only the rows of this shard's files (and see, refresh and drop only those). */
  shard?: Shard;
  /**
   * Train the approximate vector index past ANN_MIN_ROWS rows (default true). The evaluation cache says
   * no: it reads every row anyway, and training costs minutes at a million rows.
   */
  vectorIndex?: boolean;
  /** How long superseded table versions are kept (default KEEP_VERSIONS_MS); benchmarks compress time with it. */
  keepVersionsMs?: number;
}

/** What `IndexWriter.open` found. */
export interface Recovery {
  /** Rows already committed by earlier runs. */
  rows: number;
  /** Paths whose stored values are unusable (rows.ts: NaN, Inf, not unit-norm): to embed again or drop. */
  badRows: string[];
}

/**
 * Writes an index directory, holding its lock until `close()`. Each batch is one LanceDB commit (a
 * merge-insert on the path: a changed file's row is replaced, a new one appended), and dropping the rows
 * of files that are gone is one delete; a kill before a commit leaves the table as the last one left it.
 */
export class IndexWriter {
  /** Committed files: relative path → its size, mtime and hash when embedded. */
  readonly indexed = new Map<string, StoreEntry>();
  /**
   * Files committed by this writer (appended or replaced), counted as each commit returns: Ctrl-C ends the
   * process after the commit in flight, so a rerun finds exactly this many.
   */
  committedNow = 0;
  /** LanceDB commits (batches and deletes) made by this writer. */
  private commits = 0;
  /** Commits since this writer last tidied the table. */
  private untidy = 0;

  private constructor(
    readonly dir: string,
    readonly info: IndexInfo,
    private readonly table: lancedb.Table,
    private readonly lock: Lock,
    readonly shard: Shard | undefined,
    private readonly trainsVectorIndex: boolean,
    private readonly keepVersionsMs: number,
  ) {}

  get count(): number {
    return this.indexed.size;
  }

  static async open(dir: string, opts: OpenWriterOptions): Promise<{ writer: IndexWriter; recovery: Recovery }> {
    await fs.mkdir(dir, { recursive: true });
    const lock = await acquireWriterLock(dir, opts.shard);
    try {
      // Incomplete until close() says otherwise: a run killed from here on leaves an index search reads as such.
      const info = await withInfoLock(dir, async () => {
        const found = (await readInfo(dir)) ?? (await createInfo(dir, opts));
        checkCompatible(dir, found, opts);
        const started = { ...found, complete: false, shards: startedShards(found, opts.shard), updated: new Date().toISOString() };
        await writeInfo(dir, started);
        return started;
      });
      const metadata = { [METADATA_KEY]: JSON.stringify({ format: info.format, version: info.version, model: info.model, root: info.root }) };
      const table = await damagedIfThrows(dir, info, () => openTable(dir, info.embedDim, metadata));
      const writer = new IndexWriter(dir, info, table, lock, opts.shard, opts.vectorIndex ?? true, opts.keepVersionsMs ?? KEEP_VERSIONS_MS);
      const badRows = await damagedIfThrows(dir, info, () => writer.load());
      return { writer, recovery: { rows: writer.count, badRows } };
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /**
   * Reads what the table holds of this writer's files (all, or its shard's) into `indexed`; returns the
   * paths whose rows search would refuse.
   */
  private async load(): Promise<string[]> {
    const e = this.info.embedDim;
    if ((await tableEmbedDim(this.table)) !== e) throw new Error(`its vectors are not ${e} wide`);
    const bad: string[] = [];
    for await (const { entries, vectors } of scanRows(this.table, e)) {
      entries.forEach((entry, i) => {
        if (!inShard(entry.path, this.shard)) return;
        this.indexed.set(entry.path, entry);
        if (rowProblem(vectors.subarray(i * e, (i + 1) * e)) !== undefined) bad.push(entry.path);
      });
    }
    return bad;
  }

  /**
   * Commits one batch: `rows` is [entries.length, E] row-major, L2-normalized. An entry whose path is
   * already indexed replaces its row (the file changed: a merge-insert); the others are appended (new
   * files: an append, whose cost does not grow with the table; this writer holds the only lock on its
   * files, so what `indexed` lacks is not in the table). A batch holding both is two commits; a kill
   * between them leaves the changed rows as they were, and the rerun finds them changed again. When this
   * resolves the batch survives a kill; a kill before it leaves the table as it was.
   */
  async commit(entries: StoreEntry[], rows: Float32Array): Promise<void> {
    const e = this.info.embedDim;
    if (rows.length !== entries.length * e) throw new Error(`index: ${rows.length} values for ${entries.length} rows of ${e}`);
    if (entries.length === 0) return;
    const bad = findNonFinite(rows);
    if (bad) throw new Error(`index: refusing to store ${describeNonFinite(bad)} (${entries[Math.floor(bad.first / e)].path})`);
    const fresh: number[] = [];
    const changed: number[] = [];
    entries.forEach((x, i) => (this.indexed.has(x.path) ? changed : fresh).push(i));
    await uninterrupted(async () => {
      await this.write(appendRows, entries, rows, fresh);
      await this.write(upsertRows, entries, rows, changed);
    });
    if (this.untidy >= TIDY_EVERY) await this.tidy();
  }

  /** One commit of the rows `at` of a batch ([entries.length, E]) by `write`; none when `at` is empty. */
  private async write(write: typeof appendRows, entries: StoreEntry[], rows: Float32Array, at: number[]): Promise<void> {
    if (at.length === 0) return;
    const e = this.info.embedDim;
    const some = at.map((i) => entries[i]);
    const theirs = new Float32Array(at.length * e); // [at.length, E]
    at.forEach((i, r) => theirs.set(rows.subarray(i * e, (i + 1) * e), r * e));
    await write(this.table, some, theirs);
    for (const entry of some) this.indexed.set(entry.path, entry);
    this.committedNow += some.length; // before Ctrl-C's report, which waits for this (interrupt.ts)
    this.commits++;
    this.untidy++;
  }

  /** Rewrites index.json as `change` makes it from what it holds now, under the info lock (other shards write it too). */
  private updateInfo(change: (now: IndexInfo) => IndexInfo | Promise<IndexInfo>): Promise<IndexInfo> {
    return withInfoLock(this.dir, async () => {
      const next = await change((await readInfo(this.dir)) ?? this.info);
      await writeInfo(this.dir, next);
      return next;
    });
  }

  /**
   * Whether to (re)train the vector index: none yet past ANN_MIN_ROWS rows, or the table has grown
   * RETRAIN_GROWTH-fold since it was trained (its √rows partitions were sized for the rows it was trained
   * on; rows added since are folded into them by tidy(), which makes partitions, and queries, slower).
   */
  private async needsTraining(info: IndexInfo): Promise<boolean> {
    if (!this.trainsVectorIndex || info.count < ANN_MIN_ROWS) return false;
    if (!(await hasVectorIndex(this.table))) return true;
    return info.vectorIndex !== undefined && info.count >= RETRAIN_GROWTH * info.vectorIndex.rows;
  }

  /**
   * Compacts the table's small fragments into few and deletes the versions older than `keepVersionsMs`
   * (with the data files only they used), so manifests stay short and the folder holds about the live
   * rows. Other writers' concurrent commits are merged with it by LanceDB (it retries on a conflict).
   */
  private async tidy(): Promise<void> {
    this.untidy = 0;
    await this.table.optimize({ cleanupOlderThan: new Date(Date.now() - this.keepVersionsMs) });
  }

  /** Drops the rows of `paths` (files that are gone); returns how many there were. */
  async drop(paths: Iterable<string>): Promise<number> {
    const gone = [...new Set(paths)].filter((p) => this.indexed.has(p));
    if (gone.length === 0) return 0;
    await uninterrupted(async () => {
      await deleteRows(this.table, gone);
      for (const p of gone) this.indexed.delete(p);
      this.commits++;
    });
    return gone.length;
  }

  /**
   * Records the run in index.json (count, skipped, complete; for a shard, that it finished) and releases
   * the lock. The run that completes the index (the last shard to finish, or an unsharded run) then tidies
   * the table: compaction merges the small data file (fragment) each commit added, or a scan would open
   * 60 000 files for a million images in batches of 16; and past ANN_MIN_ROWS rows it trains the vector
   * index search then uses (vector-index.ts). Both are LanceDB commits that leave the rows as they are.
   */
  async close(result: { skipped: SkippedFile[]; complete: boolean }): Promise<IndexInfo> {
    try {
      // Counted under the lock: a shard finishing meanwhile has committed all its rows before it records that.
      const info = await this.updateInfo(async (now) => ({ ...finishedInfo(now, this.shard, result), count: await this.table.countRows() }));
      if (info.complete && (this.commits > 1 || this.shard !== undefined)) await this.tidy();
      if (!info.complete || !(await this.needsTraining(info))) return info;
      await buildVectorIndex(this.table, info.count, info.embedDim);
      return await this.updateInfo((now) => ({ ...now, vectorIndex: { rows: info.count } }));
    } finally {
      this.table.close();
      await this.lock.release();
    }
  }
}

/** The gist of a LanceDB error: without the Rust source locations and cause chains it appends. */
function lanceReason(err: unknown): string {
  return oneLine(err)
    .split(/,? \/(?:usr|rustc|root|home)\/|\s+Caused by:/)[0]
    .slice(0, 200);
}

/** Runs `open`, turning LanceDB's errors about a broken table into one line that says how to rebuild. */
export async function damagedIfThrows<T>(dir: string, info: IndexInfo, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(
      `${dir}: damaged index: its table ${TABLE_DIR} cannot be read (${lanceReason(err)}); rebuild it with \`biomedclip index ${info.root} --out NEW_INDEX\`, then delete ${dir}`,
    );
  }
}
