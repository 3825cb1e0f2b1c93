/**
 * Argument parsing for every command, in a module of its own so that commands which never run the model
 * (tokenize, preprocess, convert, download) can use it without loading TensorFlow.js through common.ts.
 * Every bad flag, value or output path is a one-line UserError with exit code 2, before any work starts.
 */
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../errors.js';

/**
 * parseArgs with our error style: a bad flag is one line (exit 2) that names it and the command's help.
 * A negative number after a flag that takes a value is that value (`--layer -1` means `--layer=-1`, which
 * the option's own check then accepts or refuses); Node's parser would call it "ambiguous" instead.
 */
export function parse<T extends Omit<ParseArgsConfig, 'args'>>(
  command: string,
  args: string[],
  config: T,
): ReturnType<typeof parseArgs<T & { args: string[]; strict: true }>> {
  let parsed;
  try {
    parsed = parseArgs({ ...config, args: negativeValues(args, config.options ?? {}), strict: true as const });
  } catch (err) {
    throw new UserError(`${parseErrorMessage(err)}; see \`biomedclip ${command} --help\``, 2);
  }
  demoAsModel(parsed.values as Record<string, unknown>);
  return parsed;
}

/**
 * `--demo` is `--model demo` on every command that takes `--model` (both come in MODEL_OPTIONS). Resolved
 * here, once, so each command, and each helper that reads `values.model`, sees only `model`.
 */
function demoAsModel(values: Record<string, unknown>): void {
  if (values.demo !== true) return;
  if (values.model !== undefined && values.model !== 'demo')
    throw new UserError(`--demo and --model ${values.model} exclude each other (--demo is --model demo); pass one`, 2);
  values.model = 'demo';
}

/** A negative number: -1, -0.5, -.5, -1e-3 (what a user means as a value, never a flag: none is a digit). */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/** `--flag -3` → `--flag=-3` for every flag that takes a string value; everything after `--` untouched. */
export function negativeValues(args: string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') return out.concat(args.slice(i));
    const flag = /^--([^=]+)$/.exec(arg)?.[1];
    const next = args[i + 1];
    if (flag !== undefined && Object.hasOwn(options, flag) && options[flag].type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/**
 * Node's parse errors in our words, on one line: its unknown-option message suggests a quoting that does
 * not close (`as in '-- "--demo"`), and its "ambiguous" message spreads the fix over three lines.
 */
function parseErrorMessage(err: unknown): string {
  const e = err as Error & { code?: string };
  const unknown = /^Unknown option '([^']*)'/.exec(e.message);
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown) return `unknown option '${unknown[1]}'`;
  const ambiguous = /^Option '([^']*)' argument is ambiguous/.exec(e.message);
  if (ambiguous) return `${ambiguous[1]} is followed by a value that starts with '-'; if it is the value, write ${ambiguous[1]}=VALUE`;
  return e.message.split('\n')[0].replace(/\.$/, '');
}

/**
 * The position table of BiomedCLIP's text tower (BERT's max_position_embeddings): no text can be longer, so
 * no length-like option may ask for more (an unbounded `--context-length 100000000` padded every text to
 * 10^8 tokens and grew past 6 GB).
 */
export const MAX_TEXT_TOKENS = 512;

/**
 * An integer option within [min, max], or undefined when absent. Every size-like option goes through here,
 * so none can ask for unbounded memory; `why` says where the upper bound comes from.
 */
export function intOption(flag: string, value: string | undefined, min: number, max: number, why = ''): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || n < min || n > max) {
    throw new UserError(`--${flag} ${value}: expected an integer from ${min} to ${max.toLocaleString('en-US')}${why ? ` (${why})` : ''}`, 2);
  }
  return n;
}

/** The largest --max-pixels: 2^30 pixels (12 times Pillow's default limit). */
export const MAX_PIXELS_LIMIT = 2 ** 30;

/** `--max-pixels N`, shared by every command that reads images: bounded, since a decoded pixel costs 3 bytes at least. */
export function maxPixelsOption(value: string | undefined): number | undefined {
  return intOption('max-pixels', value, 1, MAX_PIXELS_LIMIT, 'a decoded image of 2^30 pixels already takes 3 GB');
}

/** The most results `--top` may ask for (search keeps them in memory). */
export const MAX_TOP = 100_000;

/** `--pad-to N|longest`: 'longest' or a token count the text tower can take. */
export function padToOption(value: string | undefined): number | 'longest' | undefined {
  if (value === 'longest') return value;
  return intOption('pad-to', value, 2, MAX_TEXT_TOKENS, "the text tower's positions; open_clip pads to 256, or pass 'longest'");
}

/** Output formats that exclude each other: two given is an error, not a silent pick. */
export function oneFormat(values: Record<string, unknown>, flags: string[]): void {
  const given = flags.filter((f) => values[f] === true);
  if (given.length > 1) throw new UserError(`${given.map((f) => `--${f}`).join(' and ')} exclude each other; pick one`, 2);
}

/**
 * An output file path must name a file in an existing directory: checked before any work, so `--out DIR`
 * or a missing parent is one clear line instead of a raw EISDIR/ENOENT from the final rename.
 */
export function outputFile(flag: string, file: string, extension: string): string {
  const st = statSync(file, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw new UserError(`--${flag} ${file}: is a directory; pass a file path, e.g. ${path.join(file, `out${extension}`)}`, 2);
  const parent = path.dirname(path.resolve(file));
  if (!statSync(parent, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UserError(`--${flag} ${file}: the directory ${parent} does not exist; create it first (mkdir -p ${parent})`, 2);
  }
  return file;
}

/** A flag with a fixed set of values (`--decoder js`): undefined, or one of `allowed`. */
export function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UserError(`--${flag} must be one of ${allowed.join(', ')}, got '${value}'`, 2);
  }
  return value as T;
}
