/**
 * Image preprocessing throughput: images per second through `preprocessImage` (decode + resize + crop +
 * normalize) for each decoder, on the shared test images, and Pillow + torchvision's for comparison.
 *
 *   npx tsc -p . && node dist/scripts/bench_image.js [--seconds 2] [IMAGE ...]
 *
 * Single-threaded, one image at a time (what `embed` does per image). Numbers depend on the machine and
 * on image size (decode dominates large JPEGs); they are printed, never asserted.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { preprocessImage, resolveDecoder } from '../src/image/index.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHARED = process.env.BIOMEDCLIP_SHARED ?? path.resolve(REPO, '..', 'shared');

/** Runs `fn` repeatedly for about `seconds` (after one warm-up call) and returns calls per second. */
async function rate(fn: () => Promise<unknown>, seconds: number): Promise<number> {
  await fn();
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < seconds) {
    await fn();
    n++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  return n / elapsed;
}

/** Pillow + torchvision (open_clip's Compose) images/s on the same files, or null if that Python is missing. */
function pillowRate(files: string[], seconds: number): number | null {
  const code = `
import sys, time
from PIL import Image
from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize, ToTensor
t = Compose([Resize(224, interpolation=InterpolationMode.BICUBIC), CenterCrop(224), lambda im: im.convert('RGB'),
             ToTensor(), Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))])
files, secs = sys.argv[2:], float(sys.argv[1])
n, start = 0, time.perf_counter()
while time.perf_counter() - start < secs:
    for f in files:
        with Image.open(f) as im:
            t(im)
        n += 1
print(n / (time.perf_counter() - start))
`;
  try {
    const out = execFileSync(process.env.BIOMEDCLIP_PYTHON ?? '/usr/bin/python3', ['-c', code, String(seconds), ...files], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return Number(out.trim());
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { seconds: { type: 'string', default: '2' } } });
  const seconds = Number(values.seconds);
  const dir = path.join(SHARED, 'data', 'images');
  const files =
    positionals.length > 0
      ? positionals
      : readdirSync(dir)
          .filter((f) => /\.(png|jpe?g)$/i.test(f) && !f.includes('12bit'))
          .map((f) => path.join(dir, f));
  const quiet = { onWarning: () => {} };
  const decoders = (await resolveDecoder('auto')) === 'sharp' ? (['sharp', 'js'] as const) : (['js'] as const);
  console.log(`image preprocessing, ${files.length} images, ~${seconds}s each, single thread:`);
  for (const decoder of decoders) {
    const bytes = files.map((f) => readFileSync(f));
    for (const [i, f] of files.entries()) {
      const r = await rate(() => preprocessImage(bytes[i], undefined, { ...quiet, decoder }), seconds / files.length);
      console.log(`  ${decoder.padEnd(5)} ${path.basename(f).padEnd(48)} ${r.toFixed(1).padStart(7)} images/s`);
    }
    const all = await rate(async () => {
      for (const b of bytes) await preprocessImage(b, undefined, { ...quiet, decoder });
    }, seconds);
    console.log(`  ${decoder.padEnd(5)} all images, round robin: ${(all * files.length).toFixed(1)} images/s`);
  }
  const pil = pillowRate(files, seconds);
  console.log(pil === null ? '  Pillow + torchvision: not available' : `  Pillow + torchvision (reference): ${pil.toFixed(1)} images/s`);
}

await main();
