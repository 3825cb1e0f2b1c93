/**
 * What the explanation commands (explain, ablate, lens, sanity) share: the text side of an image-text
 * pair (`--text`, or zero-shot `--labels` with a `--target`), number flags with one-line errors, and
 * turning an image and a text into batch-1 model inputs.
 */
import { DEFAULT_TEMPLATE, fillTemplate, type BiomedCLIP } from '../api/biomedclip.js';
import { UserError } from '../errors.js';
import { labelsOption } from './labels.js';
import type { ExplainOptions, Method } from '../inspect/explain.js';

export const PAIR_OPTIONS = {
  text: { type: 'string', multiple: true },
  labels: { type: 'string', multiple: true },
  target: { type: 'string' },
  template: { type: 'string' },
} as const;

/** The text options' help; `many`: several images and texts are allowed (explain). */
export const pairHelp = (many: boolean) => `Text options (the explained number is the pair's logit, exp(logit_scale) · cosine):
  --text TEXT        the text${many ? '; repeatable (each image is paired with each text)' : ''}
  --labels "a,b,c"   zero-shot labels instead (CSV quoting for a label with a comma; repeats append):
                     the pair is the image and the target label's prompt, and the logit is that
                     label's zero-shot logit
  --target LABEL     the label to explain (default: the image's most probable label)
  --template T       prompt template with {} for the label (default "${DEFAULT_TEMPLATE}")`;

export interface PairValues {
  text?: string[];
  labels?: string[];
  target?: string;
  template?: string;
}

/** The --labels values as classify reads them (src/cli/labels.ts), or undefined when none was given. */
export function parseLabels(values: PairValues): string[] | undefined {
  return values.labels === undefined ? undefined : labelsOption(values.labels);
}

/** Checks that exactly one way of giving texts was used. */
export function checkPairValues(values: PairValues): void {
  const labels = parseLabels(values);
  if (!values.text?.length && !labels) throw new UserError('no text given; pass --text TEXT, or --labels "a,b" [--target a]', 2);
  if (values.text?.length && labels) throw new UserError('--text and --labels exclude each other', 2);
  if (values.target !== undefined && !labels?.includes(values.target)) {
    throw new UserError(`--target '${values.target}' is not one of --labels (${labels?.join(', ') ?? 'none given'})`, 2);
  }
}

/** The texts one image is explained against: the --text values, or the target label's prompt. */
export async function textsFor(clip: BiomedCLIP, image: string, values: PairValues): Promise<string[]> {
  if (values.text?.length) return values.text;
  const labels = parseLabels(values)!;
  const template = values.template ?? DEFAULT_TEMPLATE;
  const target = values.target ?? (await clip.classify([image], labels, { templates: [template] }))[0][0].label;
  return [fillTemplate(template, target)];
}

/** An integer flag, or undefined when absent; one-line error naming the flag otherwise. */
export function intFlag(flag: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UserError(`--${flag} ${value}: expected an integer >= ${min}`, 2);
  return n;
}

/** A number flag in [min, max), or undefined when absent. */
export function numberFlag(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !(n >= min && n < max)) throw new UserError(`--${flag} ${value}: expected a number in [${min}, ${max})`, 2);
  return n;
}

/** One of `allowed`, or undefined when absent. */
export function choiceFlag<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw new UserError(`--${flag} ${value}: expected one of ${allowed.join(', ')}`, 2);
  return value as T;
}

/** The method options of explain and sanity. */
export const EXPLAIN_OPTIONS = {
  method: { type: 'string' },
  layer: { type: 'string' },
  head: { type: 'string' },
  'start-layer': { type: 'string' },
  'head-fusion': { type: 'string' },
  'discard-ratio': { type: 'string' },
  pool: { type: 'string' },
} as const;

export const EXPLAIN_OPTIONS_HELP = `Method options:
  --layer L          attention, gradcam: the block (default: the last)
  --head H           attention: one head instead of the mean
  --start-layer L    relevance: first block (default 0); legrad: first block (default layers - 2)
  --head-fusion F    rollout: mean (default; the paper), max or min (vit-explain)
  --discard-ratio R  rollout: zero this fraction of the lowest attentions per layer (vit-explain; default 0)
  --pool P           legrad: cls (default) or mean (LeGrad's open_clip recipe)
An option given with a method it does not apply to is an error.`;

/**
 * The methods that read each method option (src/inspect/explain.ts). An option the chosen method ignores
 * is an error naming the methods that take it: `--head 3 --method rollout` used to run the rollout and
 * print a map the user took for head 3's.
 */
const USED_BY: Record<Exclude<keyof typeof EXPLAIN_OPTIONS, 'method'>, readonly Method[]> = {
  layer: ['attention', 'gradcam'],
  head: ['attention'],
  'start-layer': ['relevance', 'legrad'],
  'head-fusion': ['rollout'],
  'discard-ratio': ['rollout'],
  pool: ['legrad'],
};

export function explainOptions(values: { [K in keyof typeof EXPLAIN_OPTIONS]?: string }, method: Method): ExplainOptions {
  for (const [flag, methods] of Object.entries(USED_BY)) {
    if (values[flag as keyof typeof USED_BY] !== undefined && !methods.includes(method)) {
      throw new UserError(`--${flag} applies only to --method ${methods.join(' or ')}; --method ${method} ignores it, so drop it or change the method`, 2);
    }
  }
  return {
    layer: intFlag('layer', values.layer),
    head: intFlag('head', values.head),
    startLayer: intFlag('start-layer', values['start-layer']),
    headFusion: choiceFlag('head-fusion', values['head-fusion'], ['mean', 'max', 'min'] as const),
    discardRatio: numberFlag('discard-ratio', values['discard-ratio'], 0, 1),
    pool: choiceFlag('pool', values.pool, ['cls', 'mean'] as const),
  };
}
