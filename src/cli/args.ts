/**
 * Argument parsing for every command, in a module of its own so that commands which never run the model
 * (tokenize, preprocess, convert, download) can use it without loading TensorFlow.js through common.ts.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../errors.js';

/** parseArgs with our error style: unknown flags become one-line UserErrors (exit 2) naming the command's help. */
export function parse<T extends Omit<ParseArgsConfig, 'args'>>(command: string, args: string[], config: T): ReturnType<typeof parseArgs<T & { args: string[]; strict: true }>> {
  try {
    return parseArgs({ ...config, args, strict: true as const });
  } catch (err) {
    throw new UserError(`${(err as Error).message.split('\n')[0]}; see \`biomedclip ${command} --help\``, 2);
  }
}
