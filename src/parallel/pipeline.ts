/**
 * The shape of every bulk loop (embed many images, index a folder): prepare a batch in this thread (decode
 * images, tokenize), run it (on a pool worker, or here), and consume the results in input order (collect,
 * commit to an index), with up to `window` batches running at once.
 */
export interface PipelineSteps<I, P, R> {
  /** Runs in this thread, one batch at a time, in input order. */
  prepare: (item: I, index: number) => Promise<P>;
  /** Starts the batch; up to `window` run at once. */
  run: (prepared: P) => Promise<R>;
  /** Runs in this thread, in input order, once the batch and every one before it have finished. */
  consume: (result: R, item: I, index: number) => Promise<void> | void;
}

export async function pipeline<I, P, R>(items: readonly I[], window: number, steps: PipelineSteps<I, P, R>): Promise<void> {
  const inFlight: Array<{ item: I; index: number; result: Promise<R> }> = [];
  const consumeOldest = async () => {
    const oldest = inFlight.shift()!;
    await steps.consume(await oldest.result, oldest.item, oldest.index);
  };
  for (let i = 0; i < items.length; i++) {
    const result = steps.run(await steps.prepare(items[i], i));
    // Awaited in its turn; until then a failure must not count as an unhandled rejection.
    result.catch(() => undefined);
    inFlight.push({ item: items[i], index: i, result });
    if (inFlight.length >= window) await consumeOldest();
  }
  while (inFlight.length > 0) await consumeOldest();
}

/** `items` in consecutive slices of `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
