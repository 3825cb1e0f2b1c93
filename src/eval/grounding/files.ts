/**
 * The grounding report folder's files (written whole or not at all by report.ts's writeReportDir):
 *
 *   metrics.json          the report object (`--json`)
 *   rows.csv              one line per row and method: every measure, the region's area and pointing
 *                         chance, the logit
 *   maps.npy              float32 [rows, methods, grid, grid]: the raw maps, methods as in metrics.json
 *   report.md             the table, the per-group table and the figures
 *   figure-<method>.png   the method's best and worst rows (figure.ts)
 *
 * Row i of rows.csv is row i of maps.npy; a reader with NumPy recomputes every number from these two.
 */
import { npyFloat32 } from '../../retrieval/npy.js';
import { csvRow, jsonText } from '../../util/format.js';
import { groundingFigure, type FigureTile } from './figure.js';
import { groundingMarkdown } from './format.js';
import type { GroundingRun } from './run.js';

const cell = (v: number | null): string | number => (v === null ? '' : v);

/** rows.csv's columns (docs/eval.md explains each); `model` follows for the demo model. */
const COLUMNS = ['row', 'image', 'text', 'group', 'method', 'hit', 'cnr', 'auroc', 'iou', 'dice', 'region_area', 'pointing_chance', 'logit'];

export function groundingReportFiles(run: GroundingRun): Record<string, string | Uint8Array> {
  const r = run.report;
  const demo = r.model.demo ? [r.model.warning as string] : [];
  const header = csvRow([...COLUMNS, ...(demo.length ? ['model'] : [])]);
  const lines = run.rows.flatMap((row, i) =>
    r.methods.map((method, k) => {
      const m = row.measures[k];
      const { image, text, group } = row.item;
      const values = [
        i,
        image,
        text,
        group,
        method,
        m.hit ? 1 : 0,
        cell(m.cnr),
        cell(m.auroc),
        m.iou,
        m.dice,
        row.region.area,
        row.chance,
        cell(row.logits[k]),
      ];
      return csvRow([...values, ...demo]);
    }),
  );
  const files: Record<string, string | Uint8Array> = {
    'metrics.json': jsonText(r) + '\n',
    'rows.csv': [header, ...lines].join('\n') + '\n',
    'maps.npy': npyFloat32([run.rows.length, r.methods.length, run.grid, run.grid], run.maps),
  };
  for (const f of run.figures) {
    const tiles = (rows: number[]) => rows.map((i) => tile(run, f.method, i));
    const title = [`${f.method}: best and worst rows by AUROC (n = ${r.metrics[f.method].n})`];
    files[`figure-${f.method}.png`] = groundingFigure(title, tiles(f.best), tiles(f.worst), r.model.demo ? r.model.warning : undefined);
  }
  files['report.md'] = groundingMarkdown(
    r,
    run.figures.map((f) => f.method),
  );
  return files;
}

function tile(run: GroundingRun, method: string, i: number): FigureTile {
  const k = run.report.methods.indexOf(method);
  const cells = run.grid * run.grid;
  const at = (i * run.report.methods.length + k) * cells;
  const row = run.rows[i];
  return {
    row: i,
    text: row.item.text,
    crop: run.crops.get(i)!,
    map: run.maps.subarray(at, at + cells),
    grid: run.grid,
    region: row.region,
    measures: row.measures[k],
  };
}
