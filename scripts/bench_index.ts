/**
 * `npm run bench:index`: search at a million rows (issue 23). A benchmark, not a test: it prints figures.
 *
 *   npm run bench:index -- [--rows N] [--dir DIR] [--keep] [--json] [--queries Q] [--exact-queries QE]
 *
 * It writes N synthetic 512-d unit vectors into a table of the index's schema (plus index.json, so
 * IndexReader opens it as `search` would), then times the three ways to answer a query:
 *   exact   our JS scan (search.ts): reads every row, checks it, dots it. Linear in N.
 *   flat    LanceDB's own brute-force scan (`bypassVectorIndex`): the same work in Rust with SIMD; the
 *           reference for what an exact scan can cost, and the ground truth for recall.
 *   approx  the IVF-PQ index of vector-index.ts: k-means cells (IVF) so a query reads `nprobes` cells
 *           instead of all rows, and 8-bit product-quantized codes (PQ, 32× smaller than float32) so a cell
 *           scans fast. PQ ranks only approximately, so `k · refine` candidates are re-scored with their
 *           stored float32 vectors: refine buys back the recall that quantization loses, at a few hundred
 *           random row reads per query.
 * Two distributions: clustered (a few thousand centres plus noise: real CLIP embeddings cluster by
 * subject, and IVF relies on it) gives the main figures; uniform on the sphere (no neighbour structure at
 * all) is the worst case, where every cell is as near as any other.
 */
import '../src/retrieval/lance-log.js'; // before LanceDB loads: its Rust log off
import * as lancedb from '@lancedb/lancedb';
import type * as ArrowModule from 'apache-arrow';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { IndexReader } from '../src/retrieval/index-reader.js';
import { INDEX_FORMAT, INDEX_VERSION, writeInfo } from '../src/retrieval/index-store.js';
import { searchIndex } from '../src/retrieval/search.js';
import { openTable } from '../src/retrieval/table.js';
import { approximateNearest, buildVectorIndex, NPROBES, REFINE_FACTOR } from '../src/retrieval/vector-index.js';
import { mulberry32 } from '../src/util/random.js';

// LanceDB (CommonJS) checks `instanceof` against the CommonJS build of apache-arrow; an `import` would load
// the ES build, whose classes differ, and LanceDB would then copy each batch field by field.
const arrow = createRequire(import.meta.url)('apache-arrow') as typeof ArrowModule;
process.env.LANCEDB_LOG ??= 'off'; // before the first connect: LanceDB's Rust WARN lines would flood stderr
const E = 512;
const K = 10;
const BATCH = 50_000; // rows per table.add: one commit, 100 MB of float32
const CENTRES = 4096;
// A row is its centre plus noise of norm ≈ 0.62, which puts it at cosine ≈ 0.85 to the centre (1/√(1 + 0.62²))
// and two rows of one centre at ≈ 0.72: neighbours share a subject, no two are duplicates. The noise is
// not isotropic: like real embeddings' variation, its variance falls off over directions (∝ 1/(j+1), an
// effective dimension of about 30, not 512), so within a cluster some rows are clearly nearer than others.
// Isotropic 512-d noise would make every cluster-mate nearly equidistant, and "the top 10" a coin toss.
// Each cluster varies along directions of its own (a subject's variation is its own: stain for histology,
// exposure for X-rays); directions shared by all clusters would be one global continuum instead of clusters.
const NOISE = 0.62;
const SPECTRUM = Float32Array.from({ length: 512 }, (_, j) => 1 / Math.sqrt(j + 1));
const SPECTRUM_SCALE = NOISE / Math.sqrt(SPECTRUM.reduce((s, x) => s + x * x, 0));
const SWEEP: [number, number][] = [
  [5, 10],
  [10, 10],
  [20, 1],
  [20, 5],
  [20, 10],
  [20, 30],
  [50, 10],
  [50, 30],
  [100, 30],
];
type Dist = 'clustered' | 'uniform';

const HELP = `Usage: npm run bench:index -- [options]

Write time, IVF-PQ build time, size on disk, search latency (exact JS scan, LanceDB flat scan, approximate)
and recall@10 of approximate search, on N synthetic 512-d unit vectors (clustered, and uniform as the worst case).

Options:
  --rows N            rows per distribution (default 1000000; 20000 for a smoke run)
  --dir DIR           where the tables go (default: a temp dir), deleted at the end unless --keep
  --keep              keep the tables
  --queries Q         queries for flat and approximate search (default 100)
  --exact-queries QE  queries for the exact JS scan, slow at 1M rows (default 20)
  --dist D            clustered | uniform | both (default both)
  --json              print the figures as JSON instead of text`;

/** A standard normal sampler on a seeded PRNG (Box-Muller, both values used). */
function gaussian(seed: number): () => number {
  const rand = mulberry32(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const x = spare;
      spare = undefined;
      return x;
    }
    const r = Math.sqrt(-2 * Math.log(1 - rand())),
      t = 2 * Math.PI * rand();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
}

function normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const inv = 1 / Math.sqrt(s);
  for (let j = 0; j < v.length; j++) v[j] *= inv;
  return v;
}

/**
 * Random signs, then the orthonormal Walsh-Hadamard transform (E log E per row instead of E² for a dense
 * matrix); twice with different signs, it is a random rotation for our purpose: it spreads the noise's
 * leading directions over all 512 coordinates, differently for each cluster.
 */
function rotate(v: Float32Array, signs: Int8Array): void {
  for (let j = 0; j < E; j++) v[j] *= signs[j];
  for (let h = 1; h < E; h *= 2) {
    for (let i = 0; i < E; i += 2 * h) {
      for (let j = i; j < i + h; j++) {
        const a = v[j],
          b = v[j + h];
        v[j] = a + b;
        v[j + h] = a - b;
      }
    }
  }
  const s = 1 / Math.sqrt(E);
  for (let j = 0; j < E; j++) v[j] *= s;
}

/** A sampler of unit vectors of one distribution; the same seed gives the same rows, so a prefix is reproducible. */
export function sampler(dist: Dist, seed: number): (out: Float32Array) => void {
  const g = gaussian(seed);
  const pick = mulberry32(seed ^ 0x5eed);
  // The centres and the rotation are the same for rows and queries (seeds 7, 8); only the draws differ.
  const cg = gaussian(7);
  const centres = new Float32Array(CENTRES * E).map(() => cg());
  for (let c = 0; c < CENTRES; c++) normalize(centres.subarray(c * E, (c + 1) * E));
  const flip = mulberry32(8);
  const signs = new Int8Array(CENTRES * 2 * E).map(() => (flip() < 0.5 ? -1 : 1));
  const noise = new Float32Array(E);
  return (out) => {
    if (dist === 'uniform') {
      for (let j = 0; j < E; j++) out[j] = g();
    } else {
      for (let j = 0; j < E; j++) noise[j] = SPECTRUM_SCALE * SPECTRUM[j] * g();
      const c = Math.floor(pick() * CENTRES);
      rotate(noise, signs.subarray(2 * c * E, (2 * c + 1) * E));
      rotate(noise, signs.subarray((2 * c + 1) * E, (2 * c + 2) * E));
      for (let j = 0; j < E; j++) out[j] = centres[c * E + j] + noise[j];
    }
    normalize(out);
  };
}

export function rowsOf(sample: (out: Float32Array) => void, n: number): Float32Array {
  const out = new Float32Array(n * E);
  for (let i = 0; i < n; i++) sample(out.subarray(i * E, (i + 1) * E));
  return out;
}

const VECTOR = new arrow.FixedSizeList(E, new arrow.Field('item', new arrow.Float32(), true));
const SCHEMA = new arrow.Schema([
  new arrow.Field('path', new arrow.Utf8(), false),
  new arrow.Field('size', new arrow.Float64(), false),
  new arrow.Field('mtime_ms', new arrow.Float64(), false),
  new arrow.Field('sha256', new arrow.Utf8(), false),
  new arrow.Field('vector', VECTOR, false),
]);

const SHA = '0'.repeat(64);

/** One add's worth of rows as an Arrow table built straight on the Float32Array (no per-row JS arrays). */
function batchTable(first: number, vectors: Float32Array): ArrowModule.Table {
  const n = vectors.length / E;
  const names = Array.from({ length: n }, (_, i) => `img/${first + i}.jpg`);
  const column = (v: ArrowModule.Vector) => v.data[0];
  const values = arrow.makeData({ type: new arrow.Float32(), length: n * E, data: vectors });
  const children = [
    column(arrow.vectorFromArray(names, new arrow.Utf8())),
    arrow.makeData({ type: new arrow.Float64(), length: n, data: new Float64Array(n).fill(1000) }),
    arrow.makeData({ type: new arrow.Float64(), length: n, data: new Float64Array(n) }),
    column(
      arrow.vectorFromArray(
        names.map(() => SHA),
        new arrow.Utf8(),
      ),
    ),
    arrow.makeData({ type: VECTOR, length: n, child: values }),
  ];
  return new arrow.Table([new arrow.RecordBatch(SCHEMA, arrow.makeData({ type: new arrow.Struct(SCHEMA.fields), length: n, children }))]);
}

/** Writes n rows of `dist` into a fresh index at `dir`; returns seconds spent in table.add. */
/** Queries drawn like the rows (another seed): fresh samples, none of them a stored row. */
function queriesOf(dist: Dist, n: number): Float32Array[] {
  const sample = sampler(dist, 2);
  return Array.from({ length: n }, () => rowsOf(sample, 1));
}

export async function writeIndex(dir: string, dist: Dist, n: number): Promise<number> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const table = await openTable(dir, E, {});
  const sample = sampler(dist, 1);
  let addS = 0;
  for (let first = 0; first < n; first += BATCH) {
    const data = batchTable(first, rowsOf(sample, Math.min(BATCH, n - first)));
    const t = performance.now();
    await table.add(data);
    addS += (performance.now() - t) / 1000;
  }
  table.close();
  const model = { dir: '', fingerprint: 'bench-index' };
  const info = { format: INDEX_FORMAT, version: INDEX_VERSION, root: dir, model, embedDim: E, dtype: 'float32', normalized: true } as const;
  await writeInfo(dir, { ...info, count: n, complete: true, skipped: [], updated: new Date().toISOString() });
  return addS;
}

/** Progress on stderr (stdout is the figures, or the JSON). */
const log = (s: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${s}`);
const du = (dir: string) => Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
const quantile = (ms: number[], q: number) => [...ms].sort((a, b) => a - b)[Math.min(ms.length - 1, Math.floor(q * ms.length))];

interface Latency {
  queries: number;
  p50: number;
  p99: number;
}

/** Times `run` on each query (after one untimed warm-up), collecting its answers. */
async function time<T>(queries: Float32Array[], run: (q: Float32Array) => Promise<T>): Promise<{ latency: Latency; answers: T[] }> {
  await run(queries[0]);
  const ms: number[] = [];
  const answers: T[] = [];
  for (const q of queries) {
    const t = performance.now();
    answers.push(await run(q));
    ms.push(performance.now() - t);
  }
  return { latency: { queries: ms.length, p50: quantile(ms, 0.5), p99: quantile(ms, 0.99) }, answers };
}

export const flat = async (table: lancedb.Table, q: Float32Array) =>
  ((await table.vectorSearch(q).distanceType('dot').bypassVectorIndex().limit(K).select(['path', '_distance']).toArray()) as { path: string }[]).map(
    (r) => r.path,
  );

/** approximateNearest's query with other nprobes/refine (the sweep), returning paths. */
const approxWith = async (table: lancedb.Table, q: Float32Array, nprobes: number, refine: number) =>
  (
    (await table
      .vectorSearch(q)
      .column('vector')
      .distanceType('dot')
      .nprobes(nprobes)
      .refineFactor(refine)
      .limit(K)
      .select(['path', 'size', 'mtime_ms', 'sha256', 'vector', '_distance'])
      .toArray()) as { path: string }[]
  ).map((r) => r.path);

export const recall = (got: string[][], truth: string[][]) => got.reduce((s, g, i) => s + g.filter((p) => truth[i].includes(p)).length / K, 0) / got.length;

async function exactLatency(dir: string, queries: Float32Array[]): Promise<{ latency: Latency; answers: string[][] }> {
  const reader = await IndexReader.open(dir);
  try {
    const r = await time(queries, (q) => searchIndex(reader, q, K, 100, { exact: true }));
    return { latency: r.latency, answers: r.answers.map(({ hits }) => hits.map((h) => h.path)) };
  } finally {
    await reader.close();
  }
}

/** Every figure for one distribution at n rows. */
async function benchDist(dir: string, dist: Dist, n: number, nq: number, nqExact: number, sweep: boolean) {
  const t0 = performance.now();
  const writeS = await writeIndex(dir, dist, n);
  const generateS = (performance.now() - t0) / 1000 - writeS;
  const bytesBefore = du(dir);
  log(`${dist}: generated in ${generateS.toFixed(1)} s, written in ${writeS.toFixed(1)} s`);
  const queries = queriesOf(dist, nq);
  const exact = await exactLatency(dir, queries.slice(0, nqExact));
  log(`${dist}: exact scan p50 ${exact.latency.p50.toFixed(0)} ms`);
  const table = await (await lancedb.connect(dir)).openTable('rows');
  const t = performance.now();
  await buildVectorIndex(table, n, E);
  const buildS = (performance.now() - t) / 1000;
  const bytesAfter = du(dir);
  log(`${dist}: IVF-PQ built in ${buildS.toFixed(1)} s`);
  const flatRun = await time(queries, (q) => flat(table, q));
  const truth = flatRun.answers;
  const approx = await time(queries, (q) => approximateNearest(table, q, K));
  const approxRecall = recall(
    approx.answers.map((a) => a.map((x) => x.entry.path)),
    truth,
  );
  const exactAgrees = recall(exact.answers, truth);
  log(`${dist}: flat p50 ${flatRun.latency.p50.toFixed(0)} ms; approx p50 ${approx.latency.p50.toFixed(1)} ms, recall@10 ${approxRecall.toFixed(3)}`);
  const rows = [];
  for (const [nprobes, refine] of sweep ? SWEEP : []) {
    const r = await time(queries, (q) => approxWith(table, q, nprobes, refine));
    rows.push({ nprobes, refine, recall: recall(r.answers, truth), p50: r.latency.p50, p99: r.latency.p99 });
  }
  table.close();
  return {
    dist,
    rows: n,
    generateS,
    writeS,
    buildS,
    bytesBefore,
    bytesAfter,
    exact: exact.latency,
    exactAgreesWithFlat: exactAgrees,
    flat: flatRun.latency,
    approx: { ...approx.latency, nprobes: NPROBES, refine: REFINE_FACTOR, recall: approxRecall },
    speedup: exact.latency.p50 / approx.latency.p50,
    sweep: rows,
  };
}

/** Exact-scan latency at smaller sizes (clustered), for the row count above which `index` builds the ANN. */
async function threshold(base: string, sizes: number[], nq: number) {
  const out = [];
  for (const n of sizes) {
    const dir = path.join(base, `clustered-${n}`);
    await writeIndex(dir, 'clustered', n);
    const queries = queriesOf('clustered', nq);
    const exact = await exactLatency(dir, queries);
    const table = await (await lancedb.connect(dir)).openTable('rows');
    const flatRun = await time(queries, (q) => flat(table, q));
    table.close();
    out.push({ rows: n, exact: exact.latency, flat: flatRun.latency });
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

const f = (x: number, d = 0) => x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const lat = (l: Latency) => `${f(l.p50, l.p50 < 10 ? 1 : 0)} / ${f(l.p99, l.p99 < 10 ? 1 : 0)}`;

interface Report {
  machine: Record<string, string | number>;
  results: Awaited<ReturnType<typeof benchDist>>[];
  smaller: Awaited<ReturnType<typeof threshold>>;
  peakRssMB: number;
}

export function print(report: Report): void {
  const { machine, results, smaller } = report;
  console.log(`\n${machine.cpu} (${machine.cores} cores), ${machine.os}, Node ${machine.node}, LanceDB ${machine.lancedb}, ${machine.date}`);
  console.log(`load average ${machine.loadAtStart} at the start, ${machine.loadAtEnd} at the end (other work shares the cores)`);
  console.log(`${machine.rows.toLocaleString('en-US')} rows of 512 float32, k = ${K}; latency ms p50 / p99 (warm cache, one query at a time)\n`);
  console.log(
    '| set | write s | IVF-PQ build s | disk MB before / after index | exact (JS scan) | LanceDB flat | approx | recall@10 | exact p50 / approx p50 |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const disk = `${f(r.bytesBefore / 2 ** 20)} / ${f(r.bytesAfter / 2 ** 20)}`;
    console.log(
      `| ${r.dist} | ${f(r.writeS, 1)} | ${f(r.buildS, 1)} | ${disk} | ${lat(r.exact)} (${r.exact.queries} q) | ${lat(r.flat)} | ${lat(r.approx)} | ${f(r.approx.recall, 3)} | ${f(r.speedup, 0)}× |`,
    );
  }
  for (const r of results.filter((x) => x.sweep.length)) {
    console.log(`\n${r.dist}: recall@10 vs latency (${r.flat.queries} queries)\n\n| nprobes | refine | recall@10 | p50 ms | p99 ms |\n|---|---|---|---|---|`);
    for (const s of r.sweep) console.log(`| ${s.nprobes} | ${s.refine} | ${f(s.recall, 3)} | ${f(s.p50, 1)} | ${f(s.p99, 1)} |`);
  }
  if (smaller.length) {
    console.log('\nclustered, smaller tables (no ANN index)\n\n| rows | exact (JS scan) p50 / p99 | LanceDB flat p50 / p99 |\n|---|---|---|');
    for (const s of smaller) console.log(`| ${f(s.rows)} | ${lat(s.exact)} | ${lat(s.flat)} |`);
  }
  for (const r of results) console.log(`\n${r.dist}: exact JS scan agrees with flat on ${f(r.exactAgreesWithFlat * 100, 1)} % of top-10`);
  console.log(`\npeak RSS ${report.peakRssMB} MB`);
}

async function main(): Promise<Report> {
  const { values: o } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000' },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      queries: { type: 'string', default: '100' },
      'exact-queries': { type: 'string', default: '20' },
      dist: { type: 'string', default: 'both' },
      help: { type: 'boolean', default: false },
    },
  });
  const num = (flag: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} ${v}: expected an integer of at least ${min}`);
    return n;
  };
  const n = num('rows', o.rows, 1000);
  const nq = num('queries', o.queries, 2);
  const nqExact = Math.min(nq, num('exact-queries', o['exact-queries'], 2));
  if (!['clustered', 'uniform', 'both'].includes(o.dist)) throw new Error(`--dist ${o.dist}: expected clustered, uniform or both`);
  const dists: Dist[] = o.dist === 'both' ? ['clustered', 'uniform'] : [o.dist as Dist];
  // Absolute: lancedb.connect reads a relative path starting with "db" as a LanceDB Cloud URI.
  const base = o.dir ? path.resolve(o.dir) : mkdtempSync(path.join(os.tmpdir(), 'bench-index-'));
  const pkg = JSON.parse(readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../node_modules/@lancedb/lancedb/package.json'), 'utf8')) as {
    version: string;
  };
  const machine: Report['machine'] = {
    cpu: os.cpus()[0].model,
    cores: os.cpus().length,
    os: `${os.type()} ${os.release()}`,
    node: process.versions.node,
    lancedb: pkg.version,
    date: new Date().toISOString().slice(0, 10),
    rows: n,
    loadAtStart: os.loadavg()[0].toFixed(1),
  };
  try {
    const results = [];
    for (const dist of dists) {
      log(`${dist}: ${n} rows in ${base}`);
      results.push(await benchDist(path.join(base, dist), dist, n, nq, nqExact, true));
      log(`${dist}: done`);
    }
    const sizes = dists.includes('clustered') ? [10_000, 100_000].filter((s) => s < n) : [];
    const smaller = await threshold(base, sizes, nqExact);
    machine.loadAtEnd = os.loadavg()[0].toFixed(1);
    const report = { machine, results, smaller, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) };
    if (o.json) console.log(JSON.stringify(report, null, 2));
    return report;
  } finally {
    if (!o.keep) rmSync(base, { recursive: true, force: true });
  }
}

// Run when executed, not when imported (an experiment may reuse the generator and the table writer).
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--help')) {
    console.log(HELP);
    process.exit(0);
  }
  const report = await main();
  if (!process.argv.includes('--json')) print(report);
}
