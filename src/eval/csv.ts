/**
 * Reading the evaluation CSVs (`image,label` and `image,caption`): RFC 4180, as pandas and Excel write
 * them. Fields may be quoted; quoted fields may hold commas, doubled quotes and line breaks (captions
 * often do). The first line names the columns; other columns are allowed and ignored.
 *
 * The splitting is csv-parse's (a well-kept RFC 4180 parser): what stays here is what our messages need,
 * the line each row starts on, and the rules of our files.
 */
import { promises as fs } from 'node:fs';
import { CsvError, parse } from 'csv-parse/sync';
import { UserError } from '../errors.js';

export interface CsvRow {
  /** 1-based line of the file where the row starts, for error messages. */
  line: number;
  fields: string[];
}

/** Splits CSV text into rows of fields. A quote left open at the end of the file is an error. */
export function parseCsv(text: string, file: string): CsvRow[] {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    const options = {
      bom: true, // Excel writes a UTF-8 byte-order mark
      info: true, // each record's end line: a row starts on the line after the previous one ends
      relax_column_count: true, // extra or missing columns are checked below, with our message
      relax_quotes: true, // a quote inside an unquoted field is literal (5" nodule)
      record_delimiter: ['\r\n', '\n', '\r'], // files edited on two systems mix line endings
    };
    records = parse(text, options) as unknown as typeof records;
  } catch (err) {
    if (err instanceof CsvError && err.code === 'CSV_QUOTE_NOT_CLOSED') {
      throw new UserError(
        `${file}: a quoted field is never closed (the file ends inside it, at line ${err.lines}); close the quote (a quote inside a field is written "")`,
      );
    }
    throw new UserError(`${file}: not readable as CSV (${err instanceof Error ? err.message : String(err)}); save it as comma-separated values`);
  }
  const rows: CsvRow[] = [];
  let next = 1;
  for (const { record, info } of records) {
    if (!(record.length === 1 && record[0] === '')) rows.push({ line: next, fields: record }); // blank lines are skipped
    next = info.lines + 1;
  }
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
