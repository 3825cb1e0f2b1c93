/**
 * What `npm run bench` reports, shared by the TS side (bench.ts), ONNX Runtime's (bench_onnx.ts) and the
 * PyTorch reference's (bench_reference.py, converted here): the cases, random inputs, and the table.
 */
import type { HostIds } from '../src/embed/embed.js';
import type { HostTensor } from '../src/host-tensor.js';

export interface BenchReport {
  backend: string;
  /** Workers and threads, as the backend ran with default settings. */
  setup: string;
  load_s: number;
  /** One image, batch 1. */
  latency_ms: number;
  /** Batches of 8, as a bulk command runs them (the worker pool on wasm and cpu). */
  images_per_s: number;
  /** 10-token labels ([CLS] 8 words [SEP]), batches of 32. */
  labels_per_s: number;
  /** 256-token texts (open_clip's context length), batches of 8. */
  long_texts_per_s: number;
  peak_rss_bytes: number;
  /** Peak RSS added per pool worker (its model copy and activations), when there is a pool. */
  rss_per_worker_bytes?: number;
}

/** The same cases on the PyTorch reference: bench_reference.py's flags and its case names. */
export const BENCH_CASES = {
  torchArgs: ['--image-batches', '1,8', '--text-cases', '10x32,256x8'],
  latency: 'image batch 1',
  images: 'image batch 8',
  labels: 'text 10 tokens x 32',
  longTexts: 'text 256 tokens x 8',
} as const;

interface CaseList {
  backend: string;
  load_s: number;
  peak_rss_bytes: number;
  cases: Array<{ name: string; ms_per_batch: number; embeddings_per_s: number }>;
}

/** bench_reference.py's JSON (a list of cases) as a BenchReport. */
export function fromCaseList(r: CaseList, setup: string): BenchReport {
  const find = (name: string) => {
    const c = r.cases.find((x) => x.name === name);
    if (!c) throw new Error(`${r.backend}: no case '${name}' in its report`);
    return c;
  };
  return {
    backend: r.backend,
    setup,
    load_s: r.load_s,
    latency_ms: find(BENCH_CASES.latency).ms_per_batch,
    images_per_s: find(BENCH_CASES.images).embeddings_per_s,
    labels_per_s: find(BENCH_CASES.labels).embeddings_per_s,
    long_texts_per_s: find(BENCH_CASES.longTexts).embeddings_per_s,
    peak_rss_bytes: r.peak_rss_bytes,
  };
}

/** Mean ms per call of `fn` after one warm-up call, over at least 2 calls and `seconds`. */
export async function msPerCall(fn: () => Promise<unknown>, seconds: number): Promise<number> {
  await fn();
  let n = 0;
  const start = performance.now();
  while (n < 2 || performance.now() - start < seconds * 1000) {
    await fn();
    n++;
  }
  return (performance.now() - start) / n;
}

/** Standard-normal-ish pixels [B, 3, S, S] (speed does not depend on the values). */
export function randomPixels(batch: number, size: number): HostTensor {
  const data = new Float32Array(batch * 3 * size * size);
  for (let i = 0; i < data.length; i++) data[i] = Math.random() * 2 - 1;
  return { shape: [batch, 3, size, size], data };
}

/** [CLS] random ordinary ids [SEP], no padding: every position is a real token, as in a full batch. */
export function randomIds(batch: number, tokens: number, vocab: number): HostIds {
  const data = new Int32Array(batch * tokens);
  for (let i = 0; i < data.length; i++) {
    const t = i % tokens;
    data[i] = t === 0 ? 2 : t === tokens - 1 ? 3 : 5 + Math.floor(Math.random() * (vocab - 5));
  }
  return { shape: [batch, tokens], data };
}

/** The report as a table, each speed with its ratio to PyTorch's. */
export function table(reports: BenchReport[]): string {
  const torch = reports.find((r) => r.backend === 'pytorch');
  const mb = (b: number | undefined) => (b === undefined ? '-' : (b / 2 ** 20).toFixed(0));
  const rate = (r: BenchReport, k: 'images_per_s' | 'labels_per_s' | 'long_texts_per_s') => {
    const ratio = torch && r !== torch ? ` (${(r[k] / torch[k]).toFixed(2)}x)` : '';
    return `${r[k] < 10 ? r[k].toFixed(2) : r[k].toFixed(1)}${ratio}`;
  };
  const rows = [['backend', 'setup', 'load s', '1 image ms', 'images/s', 'labels/s', '256-tok texts/s', 'peak RSS MB', 'MB/worker']];
  for (const r of reports) {
    const latency = torch && r !== torch ? ` (${(torch.latency_ms / r.latency_ms).toFixed(2)}x)` : '';
    rows.push([
      r.backend,
      r.setup,
      r.load_s.toFixed(2),
      `${r.latency_ms.toFixed(0)}${latency}`,
      rate(r, 'images_per_s'),
      rate(r, 'labels_per_s'),
      rate(r, 'long_texts_per_s'),
      mb(r.peak_rss_bytes),
      mb(r.rss_per_worker_bytes),
    ]);
  }
  const widths = rows[0].map((_, j) => Math.max(...rows.map((row) => row[j].length)));
  return rows.map((row) => row.map((c, j) => c.padEnd(widths[j])).join('  ')).join('\n');
}
