/**
 * Reading the evaluation CSVs (`image,label` and `image,caption`): RFC 4180, as pandas and Excel write
 * them. Fields may be quoted; quoted fields may hold commas, doubled quotes and line breaks (captions
 * often do). The first line names the columns; other columns are allowed and ignored.
 */
import { promises as fs } from 'node:fs';
import { UserError } from '../errors.js';

export interface CsvRow {
  /** 1-based line of the file where the row starts, for error messages. */
  line: number;
  fields: string[];
}

/** Splits CSV text into rows of fields. A quote left open at the end of the file is an error. */
export function parseCsv(text: string, file: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a UTF-8 byte-order mark (Excel writes one)
  const endRow = () => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '')) rows.push({ line: rowLine, fields }); // blank lines are skipped
    fields = [];
    field = '';
  };
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"'; // a doubled quote inside quotes is one quote
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
        if (ch === '\n') line++;
      }
    } else if (ch === '"' && field === '') {
      quoted = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
      rowLine = ++line;
    } else {
      field += ch;
    }
  }
  if (quoted) throw new UserError(`${file}:${rowLine}: a quoted field is never closed; close the quote (a quote inside a field is written "")`);
  if (field !== '' || fields.length > 0) endRow();
  return rows;
}

export interface CsvTable {
  file: string;
  /** Each row's values of the requested columns, in the order requested, with its line number. */
  rows: Array<{ line: number; values: string[] }>;
}

/**
 * Reads `file` and returns the `columns` of every row. A missing column, a row with too few fields or an
 * empty required value is one error line that names the file, the line and the fix.
 */
export async function readCsvColumns(file: string, columns: string[]): Promise<CsvTable> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new UserError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)}); check the path`);
  }
  const [header, ...body] = parseCsv(text, file);
  if (header === undefined) throw new UserError(`${file}: empty; the first line must name the columns ${columns.join(',')}`);
  const names = header.fields.map((f) => f.trim());
  const missing = columns.filter((c) => !names.includes(c));
  if (missing.length > 0) {
    throw new UserError(
      `${file}: no ${missing.map((m) => `'${m}'`).join(' or ')} column (the header is ${names.join(',')}); the first line must name the columns ${columns.join(',')}`,
    );
  }
  const at = columns.map((c) => names.indexOf(c));
  if (body.length === 0) throw new UserError(`${file}: a header but no rows; add one line per item`);
  const rows = body.map((r) => {
    const values = at.map((j) => (r.fields[j] ?? '').trim());
    const empty = values.findIndex((v) => v === '');
    if (empty >= 0) throw new UserError(`${file}:${r.line}: empty '${columns[empty]}' value; every row needs ${columns.join(' and ')}`);
    return { line: r.line, values };
  });
  return { file, rows };
}
