/**
 * `npm run test:unit`: the test files that need no Python, no browser, no webgpu and no full-size model, so
 * a change can be checked in under two minutes on 2 cores; `npm test` runs every file (what CI runs).
 *
 * A file leaves the unit tier by saying why in a comment of its own, near the top:
 *   // test tier: full (PyTorch oracle: /usr/bin/python3 with torch)
 * so a reader of the test sees its tier, and this script needs no list to keep in step.
 *
 *   node dist/scripts/test_tier.js unit|full [node --test options...]
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MARKER = /^\/\/ test tier: full \((.+)\)$/m;

/** Test files of `tier` (compiled paths), and the full-tier ones left out with their reasons. */
export function testFiles(tier: 'unit' | 'full', root = ROOT): { run: string[]; left: Array<{ file: string; why: string }> } {
  const run: string[] = [];
  const left: Array<{ file: string; why: string }> = [];
  for (const name of readdirSync(path.join(root, 'test'))
    .filter((n) => n.endsWith('.test.ts'))
    .sort()) {
    const compiled = path.join(root, 'dist', 'test', name.replace(/\.ts$/, '.js'));
    const why = MARKER.exec(readFileSync(path.join(root, 'test', name), 'utf8').slice(0, 4000))?.[1];
    if (tier === 'unit' && why !== undefined) left.push({ file: name, why });
    else run.push(compiled);
  }
  return { run, left };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [tier, ...options] = process.argv.slice(2);
  if (tier !== 'unit' && tier !== 'full') {
    console.error('usage: node dist/scripts/test_tier.js unit|full [node --test options...]');
    process.exit(2);
  }
  const { run, left } = testFiles(tier);
  if (left.length > 0) console.log(`# unit tier: ${left.length} files left to \`npm test\`: ${left.map((l) => `${l.file} (${l.why})`).join('; ')}`);
  const r = spawnSync(process.execPath, ['--test', ...options, ...run], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
