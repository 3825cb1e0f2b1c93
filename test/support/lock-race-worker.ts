/**
 * One contender of test/index-lock.test.ts's race: for each round r it waits until T0 + r * STEP ms (both
 * contenders share T0, so they start each round within about a millisecond of each other), tries to take
 * the lock of ROOT/r, and reports 'won', 'busy' or 'double' (it holds the lock while the other one does too,
 * detected with an exclusive mkdir inside the index). A winner holds the lock for half a step.
 */
import { mkdirSync, rmdirSync } from 'node:fs';
import * as path from 'node:path';
import { acquireLock } from '../../src/retrieval/lock.js';
import { UserError } from '../../src/errors.js';

const [root, t0Arg, stepArg, roundsArg] = process.argv.slice(2);
const t0 = Number(t0Arg);
const step = Number(stepArg);
const results: string[] = [];

async function until(t: number): Promise<void> {
  while (Date.now() < t - 2) await new Promise((r) => setTimeout(r, Math.max(0, t - Date.now() - 2)));
  while (Date.now() < t); // the last milliseconds spun, so both contenders start together
}

for (let r = 0; r < Number(roundsArg); r++) {
  await until(t0 + r * step);
  const dir = path.join(root, String(r));
  try {
    const lock = await acquireLock(dir);
    let outcome = 'won';
    try {
      mkdirSync(path.join(dir, 'HELD'));
    } catch {
      outcome = 'double';
    }
    await new Promise((res) => setTimeout(res, step / 2));
    if (outcome === 'won') rmdirSync(path.join(dir, 'HELD'));
    await lock.release();
    results.push(outcome);
  } catch (err) {
    results.push(err instanceof UserError && /is being written by process/.test(err.message) ? 'busy' : `error: ${(err as Error).message}`);
  }
}
process.stdout.write(JSON.stringify(results));
