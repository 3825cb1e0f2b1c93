/**
 * `--labels` values: comma-separated, with CSV quoting (RFC 4180) so that a label may hold a comma:
 * `--labels 'a,"b, c",d'` is three labels, `""` inside quotes is one quote character. Spaces around a label
 * are trimmed. The flag is repeatable and each one adds its labels (`--labels a --labels "b, c"`), so long
 * label sets can be built up in a shell script. An empty label, an unclosed quote or a repeated label is an
 * error naming it, never silently dropped or merged.
 */
import { UserError } from '../errors.js';

/** Splits one `--labels` value into labels. */
export function splitLabels(value: string): string[] {
  const labels: string[] = [];
  let i = 0;
  for (;;) {
    while (value[i] === ' ' || value[i] === '\t') i++;
    let label: string;
    if (value[i] === '"') {
      const close = closingQuote(value, i + 1);
      label = value.slice(i + 1, close).replace(/""/g, '"');
      i = close + 1;
      while (value[i] === ' ' || value[i] === '\t') i++;
      if (i < value.length && value[i] !== ',') {
        throw new UserError(`--labels ${JSON.stringify(value)}: unexpected text after the quoted label "${label}" (quote the whole label)`, 2);
      }
    } else {
      const comma = value.indexOf(',', i);
      const end = comma < 0 ? value.length : comma;
      label = value.slice(i, end).trim();
      i = end;
    }
    if (label === '') throw new UserError(`--labels ${JSON.stringify(value)}: label ${labels.length + 1} is empty; remove the extra comma`, 2);
    labels.push(label);
    if (i >= value.length) return labels;
    i++; // the comma
  }
}

/** Index of the quote that closes a quoted label opened before `from` (a doubled `""` is a literal quote). */
function closingQuote(value: string, from: number): number {
  for (let i = from; i < value.length; i++) {
    if (value[i] !== '"') continue;
    if (value[i + 1] === '"') i++;
    else return i;
  }
  throw new UserError(`--labels ${JSON.stringify(value)}: a quote opened at character ${from} is never closed`, 2);
}

/** Every label of every `--labels` flag, in order; a label given twice is an error. */
export function labelsOption(values: string[] | undefined): string[] {
  const labels = (values ?? []).filter((v) => v.trim() !== '').flatMap(splitLabels);
  if (labels.length === 0) throw new UserError('no labels given; pass --labels "a,b,c"', 2);
  const seen = new Set<string>();
  for (const l of labels) {
    if (seen.has(l)) throw new UserError(`--labels: "${l}" is given twice; each label must be distinct`, 2);
    seen.add(l);
  }
  return labels;
}
