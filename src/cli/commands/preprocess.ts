/**
 * `biomedclip preprocess IMAGE --out FILE.safetensors [--png CROP.png]`: runs the image preprocessing alone
 * and saves `pixel_values` ([1, 3, 224, 224] float32), so a parity test can compare it with open_clip's
 * tensor, and optionally the 224x224 crop as a PNG to look at what the model will see.
 */
import { PNG } from 'pngjs';
import type { Command } from '../command.js';
import { maxPixelsOption, oneOf, outputFile, parse } from '../args.js';
import { UserError } from '../../errors.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { writeSafetensors } from '../../weights/safetensors.js';
import { DEFAULT_PREPROCESS, PILLOW_MAX_IMAGE_PIXELS, preprocessImage, resolveDecoder } from '../../image/index.js';
import type { PreprocessOptions } from '../../image/index.js';

const usage = `Usage: biomedclip preprocess IMAGE --out FILE.safetensors [options]

Turns a PNG, JPEG, BMP, GIF (first frame), TIFF (first page) or WebP into BiomedCLIP's pixel_values
exactly as open_clip does, decoded as Pillow decodes each (Pillow + torchvision:
resize shortest side to 224 with Pillow's bicubic, center crop 224, RGB, normalize with CLIP's mean/std),
and writes them as float32 tensor "pixel_values" of shape [1, 3, 224, 224] in a safetensors file.

Options:
  --out FILE            safetensors file to write (required; written atomically)
  --png FILE            also write the 224x224 RGB crop (before normalization) as a PNG
  --decoder NAME        auto (default: sharp, or pure JS if sharp cannot load), sharp, or js
                        (js is exact for PNG; for JPEG it differs from Pillow, see docs/image.md)
  --sixteen-bit MODE    16-bit gray images: pillow (default; values above 255 saturate, as in open_clip)
                        or rescale (stretch the image's min..max onto 0..255 first)
  --max-pixels N        refuse larger images (default ${PILLOW_MAX_IMAGE_PIXELS}, Pillow's limit; at most 2^30)
  --json                print a JSON summary on stdout
  -h, --help            this help

Examples:
  biomedclip preprocess assets/examples/adenocarcinoma_histopathology.jpg --out slide.safetensors
  biomedclip preprocess ct.png --out ct.safetensors --png ct_crop.png --sixteen-bit rescale
  biomedclip preprocess assets/examples/squamous_cell_carcinoma_histopathology.jpeg --out scan.safetensors --decoder js --json`;

interface Parsed {
  image: string;
  out: string;
  png?: string;
  json: boolean;
  options: PreprocessOptions;
}

function parseOptions(args: string[]): Parsed {
  const { values, positionals } = parse('preprocess', args, {
    allowPositionals: true,
    options: {
      out: { type: 'string' },
      png: { type: 'string' },
      decoder: { type: 'string' },
      'sixteen-bit': { type: 'string' },
      'max-pixels': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) {
    throw new UserError(`preprocess takes exactly one IMAGE, got ${positionals.length}; see biomedclip preprocess --help`, 2);
  }
  if (values.out === undefined) throw new UserError('preprocess needs --out FILE.safetensors', 2);
  const maxPixels = maxPixelsOption(values['max-pixels']);
  outputFile('out', values.out, '.safetensors');
  if (values.png !== undefined) outputFile('png', values.png, '.png');
  return {
    image: positionals[0],
    out: values.out,
    png: values.png,
    json: values.json ?? false,
    options: {
      decoder: oneOf('decoder', values.decoder, ['auto', 'sharp', 'js'] as const),
      sixteenBit: oneOf('sixteen-bit', values['sixteen-bit'], ['pillow', 'rescale'] as const),
      maxPixels,
    },
  };
}

/** [S, S, 3] RGB bytes -> PNG file bytes. */
function encodePng(rgb: Uint8Array, size: number): Buffer {
  const png = new PNG({ width: size, height: size, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

async function run(args: string[]): Promise<number> {
  const p = parseOptions(args);
  const warnings: string[] = [];
  const onWarning = (m: string): void => {
    warnings.push(m);
    process.stderr.write(`biomedclip: warning: ${m}\n`);
  };
  const decoder = await resolveDecoder(p.options.decoder);
  const cfg = DEFAULT_PREPROCESS;
  const result = await preprocessImage(p.image, cfg, { ...p.options, onWarning });
  const S = cfg.imageSize;
  await writeSafetensors(p.out, [{ name: 'pixel_values', dtype: 'F32', shape: [1, 3, S, S], data: result.pixelValues }], {
    source: p.image,
    mode: result.mode,
    source_size: `${result.sourceWidth}x${result.sourceHeight}`,
    decoder,
    sixteen_bit: p.options.sixteenBit ?? 'pillow',
  });
  if (p.png !== undefined) await writeFileAtomic(p.png, encodePng(result.crop, S));
  const summary = {
    image: p.image,
    out: p.out,
    png: p.png ?? null,
    mode: result.mode,
    sourceWidth: result.sourceWidth,
    sourceHeight: result.sourceHeight,
    decoder,
    shape: [1, 3, S, S],
    warnings,
  };
  if (p.json) console.log(JSON.stringify(summary));
  else
    console.log(
      `${p.image} (${result.mode} ${result.sourceWidth}x${result.sourceHeight}, ${decoder}) -> ${p.out} pixel_values [1,3,${S},${S}]${p.png ? `, crop ${p.png}` : ''}`,
    );
  return 0;
}

export const command: Command = {
  usage,
  run,
};
