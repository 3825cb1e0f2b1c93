/**
 * Named prompt-template sets for zero-shot classification. A label is never embedded bare: CLIP-style
 * models were trained on captions, so "adenocarcinoma histopathology" scores better inside a sentence
 * ("this is an image of ..."). With several templates, a label's text embedding is the mean of its
 * normalized template embeddings, renormalized (open_clip's `build_zero_shot_classifier`).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';

/** open_clip's default zero-shot prompt in BiomedCLIP's model card. */
export const DEFAULT_TEMPLATE = 'this is a photo of {}';

/** The prompt for `label`: each {} of the template replaced by it, or the label appended when there is none. */
export function fillTemplate(template: string, label: string): string {
  return template.includes('{}') ? template.split('{}').join(label) : `${template} ${label}`;
}

export const TEMPLATE_SETS: Readonly<Record<string, readonly string[]>> = {
  /** The two templates of the BiomedCLIP paper's zero-shot evaluation. */
  biomedclip: ['this is an image of {}', '{} presented in image'],
  /** The prompt of BiomedCLIP's model-card example (open_clip's simplest). */
  'openclip-default': ['this is a photo of {}'],
  /** The label alone: for ablations, or labels that are already full sentences. */
  none: ['{}'],
  // Per dataset, as the paper's zero-shot evaluation used them (Supplementary Table 10 of Zhang et al.,
  // NEJM AI 2025 / arXiv:2303.00915; class descriptions in docs/eval.md).
  pcam: ['this is an image of {}', '{} presented in image'],
  'lc25000-lung': ['this is an image of {}', '{} presented in image'],
  'lc25000-colon': ['a photo of {}', '{} presented in image'],
  'tcga-til': ['a photo of {}', '{} presented in image'],
  rsna: ['a photo of {}', '{} presented in image'],
};

/** The set `eval` uses when no --templates is given: classify's default prompt, DEFAULT_TEMPLATE. */
export const DEFAULT_TEMPLATE_SET = 'openclip-default';

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
