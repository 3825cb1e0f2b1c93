/**
 * A cheap identity for a model directory's weights, so an index never mixes embeddings of two models and
 * search refuses a query model that differs from the indexing one. Hashing all 780 MB of BiomedCLIP would
 * cost seconds per command; instead we hash the config, the weight file's size, and its first and last
 * 64 KiB (the safetensors header with every tensor's name, shape and offsets, and real weight bytes).
 * Two different trainings or conversions differ there in practice; a deliberate collision is not a concern.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

const SPAN = 64 * 1024;

export async function modelFingerprint(modelDir: string): Promise<string> {
  const hash = createHash('sha256');
  const config = await fs.readFile(path.join(modelDir, 'open_clip_config.json')).catch(() => Buffer.from('default-config'));
  hash.update(config);
  const handle = await fs.open(path.join(modelDir, 'model.safetensors'), 'r');
  try {
    const size = (await handle.stat()).size;
    hash.update(`size:${size}`);
    for (const start of [0, Math.max(0, size - SPAN)]) {
      const buf = Buffer.alloc(Math.min(SPAN, size));
      await handle.read(buf, 0, buf.length, start);
      hash.update(buf);
    }
  } finally {
    await handle.close();
  }
  return `sha256-sampled:${hash.digest('hex').slice(0, 32)}`;
}
