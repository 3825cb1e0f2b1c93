/**
 * The demo model: BiomedCLIP's architecture at toy width with seeded random weights, generated locally in
 * about a second, so every command works on a fresh clone without network access. Its outputs are
 * meaningless and every command says so. It keeps the real image size (224), patch size, tokenizer and
 * 30522-row embedding, so preprocessing and tokenization run exactly as for the real model.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseOpenClipConfig } from '../model/config.js';
import { OPENAI_MEAN, OPENAI_STD } from '../image/types.js';
import { expectedTensorShapes } from '../model/spec.js';
import { mulberry32 } from '../util/random.js';
import { CHECKOUT_MODELS_DIR, CONFIG_FILE, MODEL_DIR_FILES, VOCAB_FILE, WEIGHTS_FILE } from '../model-files.js';
import { replaceDirectory } from '../util/atomic-dir.js';
import { DEMO_MARKER, DEMO_WARNING, isDemoConfig } from './marker.js';
import { writeSafetensors, type TensorToWrite } from '../weights/index.js';

export { DEMO_LABEL, DEMO_MARKER, DEMO_WARNING } from './marker.js';

const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BUNDLED_VOCAB = path.join(PACKAGE_ROOT, 'assets', 'vocab.txt');

export const DEMO_CONFIG = {
  [DEMO_MARKER]: true,
  model_cfg: {
    embed_dim: 64,
    vision_cfg: {
      timm_model_name: 'vit_base_patch16_224',
      timm_pool: '',
      timm_proj: 'linear',
      image_size: 224,
      patch_size: 16,
      width: 64,
      layers: 2,
      head_width: 32,
      mlp_ratio: 4,
    },
    text_cfg: {
      hf_model_name: 'microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract',
      hf_proj_type: 'mlp',
      hf_pooler_type: 'cls_last_hidden_state_pooler',
      context_length: 256,
      hf_model_config: {
        hidden_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        intermediate_size: 256,
        vocab_size: 30522,
        max_position_embeddings: 512,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
      },
    },
  },
  preprocess_cfg: { mean: OPENAI_MEAN, std: OPENAI_STD },
};

function randomTensor(name: string, shape: number[], next: () => number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (name === 'logit_scale') return out.fill(Math.log(100)); // CLIP's trained temperature is ~100
  // LayerNorm weights start at 1 (identity scale), everything else ~N(0, 0.02²) like timm/BERT init.
  const isNormWeight = /norm\d?\.weight$|LayerNorm\.weight$/.test(name);
  for (let i = 0; i < n; i++) {
    const gauss = Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next()); // Box-Muller
    out[i] = isNormWeight ? 1 + 0.1 * gauss : 0.02 * gauss;
  }
  return out;
}

/**
 * Writes the demo model directory (config, weights, vocab), atomically as a whole. `config` lets tests make
 * variants of the demo (another depth, say); they stay marked as the demo.
 */
export async function writeDemoModel(dir: string, seed = 0, config: typeof DEMO_CONFIG = DEMO_CONFIG): Promise<void> {
  const cfg = parseOpenClipConfig(config, 'demo config');
  const next = mulberry32(seed);
  const tensors: TensorToWrite[] = [...expectedTensorShapes(cfg)].map(([name, shape]) => ({
    name,
    dtype: 'F32',
    shape,
    data: randomTensor(name, shape, next),
  }));
  mkdirSync(path.dirname(dir), { recursive: true });
  await replaceDirectory(
    dir,
    async (tmp) => {
      writeFileSync(path.join(tmp, CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
      writeFileSync(path.join(tmp, VOCAB_FILE), readFileSync(BUNDLED_VOCAB));
      await writeSafetensors(path.join(tmp, WEIGHTS_FILE), tensors, { [DEMO_MARKER]: DEMO_WARNING, seed: String(seed) });
    },
    { owned: MODEL_DIR_FILES },
  );
}

/** Where the demo lives: `weights/demo` in the package, else the user cache when the package is read-only. */
export function demoModelDirs(): string[] {
  const cache = process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache');
  return [path.join(PACKAGE_ROOT, CHECKOUT_MODELS_DIR, 'demo'), path.join(cache, 'biomedclip-ts', 'demo')];
}

/** The demo model directory, generated on first use if the install step did not make it. */
export async function ensureDemoModel(): Promise<string> {
  const dirs = demoModelDirs();
  const ready = dirs.find((d) => existsSync(path.join(d, WEIGHTS_FILE)));
  if (ready) return ready;
  for (const dir of dirs) {
    try {
      await writeDemoModel(dir);
      return dir;
    } catch {
      // not writable: try the next location
    }
  }
  throw new Error(`cannot write the demo model to ${dirs.join(' or ')}`);
}

/** True when `dir` holds the demo model (its config carries the marker). */
export function isDemoModel(dir: string): boolean {
  try {
    return isDemoConfig(JSON.parse(readFileSync(path.join(dir, CONFIG_FILE), 'utf8')));
  } catch {
    return false;
  }
}
