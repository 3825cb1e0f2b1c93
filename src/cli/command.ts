/**
 * The shape of one CLI subcommand. Each command lives in its own file under `commands/` and parses its
 * own flags with the shared parser (`args.ts`); `main.ts` keeps the registry: each command's name, its
 * one-line summary for the top-level `--help`, and a lazy loader, so `--help` imports no command.
 */
export interface Command {
  /** The full `biomedclip NAME --help` text, with examples. */
  usage: string;
  /** Runs with the arguments after the command name; resolves to the process exit code. */
  run(args: string[]): Promise<number>;
}
