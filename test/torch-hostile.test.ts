/**
 * Hostile and damaged checkpoints: each must be refused with one clear UserError line, without running
 * anything (the os.system pickle would create a marker file), crashing, or inflating a zip bomb.
 */
// test tier: full (PyTorch-made checkpoints: /usr/bin/python3 with torch)
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../src/errors.js';
import { TorchCheckpoint } from '../src/weights/torch.js';
import { makeTorchFixtures } from './fixtures/weights/make.js';

let dir = '';
before(() => {
  dir = makeTorchFixtures();
});

/** Opens the file and reads every tensor; the whole sequence must fail with a UserError matching `pattern`. */
async function refused(file: string, pattern: RegExp): Promise<void> {
  const full = path.join(dir, file);
  const attempt = async () => {
    const ckpt = await TorchCheckpoint.open(full);
    try {
      for (const name of ckpt.tensors.keys()) await ckpt.readRaw(name);
    } finally {
      await ckpt.close();
    }
  };
  await assert.rejects(attempt(), (err: unknown) => {
    assert.ok(err instanceof UserError, `expected UserError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'one line');
    assert.ok(err.message.startsWith(full), `names the file: ${err.message}`);
    assert.match(err.message, pattern);
    console.log(`${file}: ${err.message.slice(full.length + 2)}`);
    return true;
  });
}

test('a pickle that calls os.system is refused and nothing runs', async () => {
  await refused('hostile_os_system.pt', /global (posix|os)\.system, which a state dict never needs/);
  assert.equal(existsSync(path.join(dir, 'PWNED')), false);
});

test('REDUCE on unknown or non-callable globals', async () => {
  await refused('hostile_eval.pt', /global builtins\.eval/);
  await refused('hostile_reduce_storage.pt', /torch\.FloatStorage cannot be called/);
});

test('deeply nested structures fail with a limit, not a stack overflow', async () => {
  await refused('hostile_deep_marks.pt', /nested deeper than 256 levels/);
  await refused('hostile_deep_lists.pt', /holds a list, not a state dict/);
  await refused('hostile_not_tensor.pt', /entry "x" is a list, not a tensor/);
});

test('storages shorter than their tensors, or missing', async () => {
  await refused('hostile_short_storage.pt', /storage 0 has 16 bytes but declares 100 F32 elements/);
  await refused('hostile_view_past_storage.pt', /needs 6 elements of storage 0, which has 4/);
  await refused('hostile_missing_storage.pt', /record archive\/data\/7 is missing/);
  await refused('hostile_truncated_pickle.pt', /ends early \(truncated\)/);
});

test('truncated and corrupt zips', async () => {
  await refused('hostile_truncated.pt', /no zip end-of-central-directory record/);
  await refused('hostile_corrupt.pt', /fails its CRC-32 check/);
  await refused('hostile_not_zip.pt', /not a PyTorch zip checkpoint/);
});

test('zip bombs are stopped before they inflate', async () => {
  const before = process.memoryUsage().arrayBuffers;
  await refused('hostile_bomb.pt', /claims 83886084 bytes, more than the 67108864 allowed/);
  await refused('hostile_bomb_lying.pt', /does not inflate to its declared 1000 bytes/);
  const grown = process.memoryUsage().arrayBuffers - before;
  console.log(`arrayBuffers grew by ${grown} bytes`);
  assert.ok(grown < 8 * 1024 * 1024, `arrayBuffers grew by ${grown} bytes`);
});
