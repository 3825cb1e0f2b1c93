/**
 * One error type for everything a user can fix: bad input files, wrong flags, missing models.
 *
 * The CLI prints `biomedclip: error: <message>` on one line and exits with `exitCode`; library callers get a
 * normal Error subclass. Messages say what is wrong, where, and which command fixes it.
 */
export class UserError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/** Formats an unknown thrown value as a single line (newlines folded) for the CLI. */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
