/**
 * Ctrl-C during long work. Node's default for SIGINT is to die at once with exit 130 and no word; a command
 * whose work is resumable registers what to say instead ("240/300 committed; run the same command to
 * resume"), then exits 130 as the shell expects. Only work that was committed before the signal is promised:
 * the batch in flight is lost, which is exactly what the resumable stores are built to tolerate.
 */
const sayers: Array<() => string> = [];
let installed = false;
/** Commits running now (see `uninterrupted`); Ctrl-C waits for them before it says what is committed. */
const inFlight = new Set<Promise<unknown>>();
let interrupted = false;

function onSigint(): void {
  if (interrupted) process.exit(130); // a second Ctrl-C does not wait
  interrupted = true;
  void Promise.allSettled([...inFlight]).then(() => {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K'); // a progress bar may own the line (bars draw only on a terminal)
    const said = sayers.map((say) => say()).filter((s) => s.length > 0);
    process.stderr.write(`biomedclip: interrupted${said.length > 0 ? `: ${said.join('; ')}` : ''}\n`);
    process.exit(130);
  });
}

/**
 * Runs a commit that Ctrl-C must not cut in two in the count it reports: a database commit (LanceDB's) runs
 * on a native thread, so it can land on disk after the signal but before its promise settles. Ctrl-C waits
 * for the commits in flight (and what they count), then speaks; after it, no new commit starts.
 */
export async function uninterrupted<T>(commit: () => Promise<T>): Promise<T> {
  if (interrupted) return new Promise<T>(() => {}); // exiting: never start what could land after the report
  const work = commit();
  inFlight.add(work);
  try {
    return await work;
  } finally {
    inFlight.delete(work);
  }
}

/**
 * While `fn` runs, Ctrl-C prints `biomedclip: interrupted: <say()>` and exits 130. Nested calls add their
 * sentences in order.
 */
export async function sayOnInterrupt<T>(say: () => string, fn: () => Promise<T>): Promise<T> {
  sayers.push(say);
  if (!installed) {
    process.on('SIGINT', onSigint);
    installed = true;
  }
  try {
    return await fn();
  } finally {
    sayers.splice(sayers.indexOf(say), 1);
    if (sayers.length === 0) {
      process.off('SIGINT', onSigint);
      installed = false;
    }
  }
}
