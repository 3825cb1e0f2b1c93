/**
 * From classes to the texts the text tower embeds: every description of a class put into every template
 * (open_clip's prompt ensembling). Templates come from a named set (src/api/templates.ts, the paper's
 * per-dataset sets included), a file with one template per line, or one literal template with `{}`.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_TEMPLATE_SET, TEMPLATE_SETS, fillTemplate } from '../api/templates.js';
import { UserError } from '../errors.js';

export interface Templates {
  /** The set's name, the file's path, or "literal". */
  source: string;
  templates: string[];
}

/** `--templates` → templates: a set name first, then a file, then a literal template with {}. */
export function templatesOption(value: string | undefined): Templates {
  if (value === undefined) return { source: DEFAULT_TEMPLATE_SET, templates: [...TEMPLATE_SETS[DEFAULT_TEMPLATE_SET]] };
  if (Object.prototype.hasOwnProperty.call(TEMPLATE_SETS, value)) return { source: value, templates: [...TEMPLATE_SETS[value]] };
  if (existsSync(value)) return { source: value, templates: templatesFile(value) };
  return { source: 'literal', templates: resolveTemplates(value) };
}

/** A templates file: one template per line, each with {} where the class description goes; # comments. */
function templatesFile(file: string): string[] {
  const lines = readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length === 0) throw new UserError(`--templates ${file}: no templates; write one per line, e.g. "a histopathology image of {}"`, 2);
  const bad = lines.find((l) => !l.includes('{}'));
  if (bad !== undefined) throw new UserError(`--templates ${file}: "${bad}" has no {}; mark where the class description goes, e.g. "an image of {}"`, 2);
  return lines;
}

/** prompts[c]: the texts of class c, description-major (every template of the first description, ...). */
export function classPromptTexts(descriptions: string[][], templates: string[]): string[][] {
  return descriptions.map((ds) => ds.flatMap((d) => templates.map((t) => fillTemplate(t, d))));
}

/**
 * `--templates` value → templates: a set's name, or one literal template containing `{}`
 * (e.g. "a microscopy image of {}"). Anything else is a UserError: a value that looks like a file path
 * (a `/` or `\`, or a .txt name) is a templates file that is not there, and is named as such (it was
 * called an "unknown template set", which sent the user looking for a set); other values list the names.
 * Callers that read templates files (src/eval/prompts.ts) try the file first.
 */
export function resolveTemplates(nameOrTemplate: string): string[] {
  const set = TEMPLATE_SETS[nameOrTemplate];
  if (set !== undefined && Object.prototype.hasOwnProperty.call(TEMPLATE_SETS, nameOrTemplate)) return [...set];
  if (nameOrTemplate.includes('{}')) return [nameOrTemplate];
  const names = Object.keys(TEMPLATE_SETS).join(', ');
  if (looksLikePath(nameOrTemplate)) {
    const where = existsSync(nameOrTemplate) ? 'is not a readable templates file' : `does not exist (looked in ${path.resolve(nameOrTemplate)})`;
    throw new UserError(
      `--templates ${nameOrTemplate}: the file ${where}; pass an existing file with one template per line, each with {}, or a set name: ${names}`,
      2,
    );
  }
  throw new UserError(
    `--templates ${JSON.stringify(nameOrTemplate)}: unknown template set; use one of ${names}, or a template with {} such as "an image of {}"`,
    2,
  );
}

/** A path rather than a set name: set names are plain words, never with a separator or an extension. */
function looksLikePath(value: string): boolean {
  return /[/\\]/.test(value) || /\.txt$/i.test(value) || existsSync(value);
}
