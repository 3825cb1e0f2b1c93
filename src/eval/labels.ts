/**
 * What each class is called in the prompts. A label file is a JSON object from the dataset's class names
 * (folder names or CSV labels) to one description or a list of them:
 *
 *   {"0": "normal lymph node", "1": ["lymph node metastasis", "metastatic tumor tissue"]}
 *
 * Every description is put into every template; the class embedding is the mean of all those prompt
 * embeddings (see zero-shot.ts). Classes keep the file's order (JavaScript puts integer-like keys such as
 * "0", "1" first, in numeric order). Without a label file, `--classes-from-folders` uses the folder names,
 * underscores read as spaces ("squamous_cell_carcinoma" → "squamous cell carcinoma").
 */
import { promises as fs } from 'node:fs';
import { UserError } from '../errors.js';

export interface ClassPrompts {
  /** Class names as the data names them, in report order. */
  classes: string[];
  /** descriptions[c]: the texts put into the templates for class c. */
  descriptions: string[][];
}

export async function readLabelFile(file: string): Promise<ClassPrompts> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new UserError(`--labels-file ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)}); check the path`, 2);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserError(`--labels-file ${file}: not valid JSON (${(err as Error).message}); write {"class": "description", ...}`);
  }
  const example = 'write {"class": "description" or ["description", ...], ...}';
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UserError(`--labels-file ${file}: expected a JSON object; ${example}`);
  const entries = Object.entries(json as Record<string, unknown>);
  if (entries.length < 2) throw new UserError(`--labels-file ${file}: ${entries.length} class(es); zero-shot classification needs at least 2`);
  const descriptions = entries.map(([name, value]) => {
    const list = typeof value === 'string' ? [value] : value;
    const ok = Array.isArray(list) && list.length > 0 && list.every((d) => typeof d === 'string' && d.trim() !== '');
    if (!ok) throw new UserError(`--labels-file ${file}: class "${name}" needs a non-empty description or list of descriptions; ${example}`);
    return (list as string[]).map((d) => d.trim());
  });
  return { classes: entries.map(([name]) => name), descriptions };
}

/** Prompts from the class names themselves (`--classes-from-folders`). */
export function promptsFromNames(classes: string[]): ClassPrompts {
  return { classes, descriptions: classes.map((c) => [c.replace(/_/g, ' ').trim()]) };
}

/**
 * Two classes with a description in common get the same prompt, so their embeddings are pulled together
 * (identical when every description is shared) and the model cannot tell them apart: refused, naming the
 * classes. Descriptions are compared as the tokenizer reads them: case and runs of spaces do not matter.
 * `where` names the source in the message (the label file, or the data folder for folder names).
 */
export function distinctDescriptions(prompts: ClassPrompts, where: string): ClassPrompts {
  const owner = new Map<string, number>();
  prompts.descriptions.forEach((ds, c) => {
    for (const d of ds) {
      const key = d.toLowerCase().replace(/\s+/g, ' ');
      const other = owner.get(key);
      if (other !== undefined && other !== c) {
        throw new UserError(
          `${where}: classes '${prompts.classes[other]}' and '${prompts.classes[c]}' share the description "${d}"; give each class its own descriptions (the same prompt makes them indistinguishable)`,
        );
      }
      owner.set(key, c);
    }
  });
  return prompts;
}
