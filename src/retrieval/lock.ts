/**
 * One writer per index: `INDEX/.lock` holds the writing process's pid. A second `biomedclip index` on the
 * same directory fails with a clear message instead of interleaving rows. A lock left by a killed run (its
 * pid no longer exists) is taken over, so resuming after `kill -9` needs no manual cleanup.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../errors.js';

export interface Lock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0 only checks that the process exists
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists but belongs to another user
  }
}

export async function acquireLock(dir: string): Promise<Lock> {
  const file = path.join(dir, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return { release: () => fs.rm(file, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new UserError(`${dir} is being written by process ${pid}; wait for it to finish (or stop it, then rerun to resume)`);
    }
    await fs.rm(file, { force: true }); // stale: its writer was killed
  }
  throw new UserError(`${file}: cannot take the index lock; delete the file if no \`biomedclip index\` is running`);
}
