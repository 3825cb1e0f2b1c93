/**
 * The CLI's entry point and its shared terminal output: `biomedclip help COMMAND`, and the progress line
 * (rate and time left) every long command draws on a terminal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { duration, progressLine } from '../src/util/progress.js';
import { cli } from './helpers.js';

test("`biomedclip help explain` prints explain's help, as `explain --help` does", () => {
  const viaHelp = cli('help', 'explain');
  const viaFlag = cli('explain', '--help');
  assert.equal(viaHelp.status, 0, viaHelp.stderr);
  assert.match(viaHelp.stdout, /^Usage: biomedclip explain /);
  assert.equal(viaHelp.stdout, viaFlag.stdout);
  const unknown = cli('help', 'bogus');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command 'bogus'; valid commands: embed, classify/);
});

test('progress line: count, percentage, rate and time left; bytes in KB/MB; unknown totals show the count', () => {
  assert.equal(progressLine('index', 120, 300, 'images', 2), 'index [##########--------------]  40% 120/300 images, 2.0 images/s, 1m30s left');
  assert.equal(progressLine('index', 300, 300, 'images', 2), 'index [########################] 100% 300/300 images, 2.0 images/s');
  assert.equal(progressLine('eval', 3, 10, 'images', undefined), 'eval [#######-----------------]  30% 3/10 images');
  assert.equal(progressLine('download x', 1536, 4096, 'B', 1024), 'download x [#########---------------]  38% 1.5 KB/4.0 KB, 1.0 KB/s, 3s left');
  assert.equal(progressLine('sanity', 7, undefined, 'passes', 1.5), 'sanity 7 passes, 1.5 passes/s');
  assert.equal(progressLine('index', 50, 2000, 'images', 25), 'index [#-----------------------]   3% 50/2000 images, 25 images/s, 1m18s left');
  assert.deepEqual([duration(42), duration(185), duration(3720)], ['42s', '3m05s', '1h02m']);
});
