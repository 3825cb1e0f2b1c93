/**
 * Text formats every output shares (the CLI's stdout, the evaluation report's files): JSON that stays
 * readable with long number arrays, and RFC 4180 CSV rows. Here, below both, so the report does not reach
 * up into the CLI for them.
 */

/** JSON with arrays of numbers kept on one line each: readable and still valid JSON. */
export function jsonText(value: unknown): string {
  const text = JSON.stringify(value, (_k, v) => (v instanceof Float32Array ? Array.from(v) : v), 2);
  return text.replace(/\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]/g, (_m, inner: string) => `[${inner.replace(/\s+/g, '')}]`);
}

/** One CSV line (RFC 4180 quoting: fields with comma, quote or newline are quoted, quotes doubled). */
export function csvRow(fields: Array<string | number>): string {
  return fields.map((f) => (typeof f === 'number' ? String(f) : /[",\n\r]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',');
}
