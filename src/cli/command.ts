/**
 * The shape of one CLI subcommand. `main.ts` keeps the registry; each command lives in its own file under
 * `commands/` and parses its own flags with `node:util` parseArgs, so adding a command never touches another.
 */
export interface Command {
  /** The word after `biomedclip`. */
  name: string;
  /** One line for the top-level `--help` list. */
  summary: string;
  /** The full `biomedclip NAME --help` text, with examples. */
  usage: string;
  /** Runs with the arguments after the command name; resolves to the process exit code. */
  run(args: string[]): Promise<number>;
}
