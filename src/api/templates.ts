/**
 * Named prompt-template sets for zero-shot classification. A label is never embedded bare: CLIP-style
 * models were trained on captions, so "adenocarcinoma histopathology" scores better inside a sentence
 * ("this is an image of ..."). With several templates, a label's text embedding is the mean of its
 * normalized template embeddings, renormalized (open_clip's `build_zero_shot_classifier`).
 */

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
