/**
 * Test helpers that read an index's LanceDB table directly (not through IndexReader, which refuses damaged
 * rows): what a test needs to check row by row what `index` stored.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { openExistingTable, scanRows, TABLE_DIR, upsertRows, type StoreEntry } from '../src/retrieval/table.js';

export interface StoredRow extends StoreEntry {
  embedding: Float32Array;
}

/** Every row of index `dir`, sorted by path (a table has no row order to rely on). */
export async function indexRows(dir: string, embedDim: number): Promise<StoredRow[]> {
  const table = await openExistingTable(dir);
  const out: StoredRow[] = [];
  try {
    for await (const { entries, vectors } of scanRows(table, embedDim)) {
      entries.forEach((e, i) => out.push({ ...e, embedding: vectors.slice(i * embedDim, (i + 1) * embedDim) }));
    }
  } finally {
    table.close();
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Rows committed to index `dir` now (0 before its table exists): safe while another process writes. */
export async function committedRows(dir: string): Promise<number> {
  if (!existsSync(path.join(dir, TABLE_DIR))) return 0;
  // The folder appears before the table's first version is written: until then nothing is committed.
  const table = await openExistingTable(dir).catch(() => undefined);
  if (table === undefined) return 0;
  try {
    return await table.countRows();
  } finally {
    table.close();
  }
}

/** Overwrites the stored vector of `entry.path` (bypassing the writer's checks: to damage a row on purpose). */
export async function overwriteRow(dir: string, entry: StoreEntry, vector: Float32Array): Promise<void> {
  const table = await openExistingTable(dir);
  try {
    await upsertRows(table, [entry], vector);
  } finally {
    table.close();
  }
}

/** Deletes every row of index `dir` in one commit (as a run killed before its first commit leaves it). */
export async function deleteAllRows(dir: string): Promise<void> {
  const table = await openExistingTable(dir);
  try {
    await table.delete('true');
  } finally {
    table.close();
  }
}
