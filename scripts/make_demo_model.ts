/**
 * Generates the demo model (random weights at toy width) into `weights/demo`. Run by `npm install` /
 * `npm ci` through the `prepare` script; safe to re-run.
 *
 *   node dist/scripts/make_demo_model.js              # the demo, into weights/demo
 *   node dist/scripts/make_demo_model.js --full DIR   # BiomedCLIP's full sizes, random weights, into DIR:
 *                                                     # for benchmarks where torch is missing (gpu-check.sh)
 */
import { parseArgs } from 'node:util';
import { DEMO_CONFIG, demoModelDirs, writeDemoModel } from '../src/demo/demo-model.js';

/** BiomedCLIP's sizes (ViT-B/16, BERT-base, 512-d joint space), still marked as the demo: its outputs say so. */
const FULL_SIZE: typeof DEMO_CONFIG = {
  ...DEMO_CONFIG,
  model_cfg: {
    embed_dim: 512,
    vision_cfg: { ...DEMO_CONFIG.model_cfg.vision_cfg, width: 768, layers: 12, head_width: 64 },
    text_cfg: {
      ...DEMO_CONFIG.model_cfg.text_cfg,
      hf_model_config: {
        ...DEMO_CONFIG.model_cfg.text_cfg.hf_model_config,
        hidden_size: 768,
        num_hidden_layers: 12,
        num_attention_heads: 12,
        intermediate_size: 3072,
      },
    },
  },
};

const { values } = parseArgs({ options: { full: { type: 'string' } } });
const dir = values.full ?? demoModelDirs()[0];
const t0 = Date.now();
await writeDemoModel(dir, 0, values.full ? FULL_SIZE : DEMO_CONFIG);
console.error(`biomedclip: ${values.full ? 'full-size random-weight' : 'demo'} model written to ${dir} in ${Date.now() - t0} ms`);
