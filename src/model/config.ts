/**
 * Typed configuration of both towers, parsed from the checkpoint's own `open_clip_config.json`.
 *
 * open_clip names the towers by upstream model ids (`timm_model_name`, `hf_model_name`) instead of listing
 * dimensions, so this file keeps a table from those ids to dimensions. Test models (and future variants)
 * may spell the dimensions out: open_clip's own vision names (`width`, `layers`, `head_width`, ...) and HF
 * BertConfig names under `text_cfg.hf_model_config`. Both the current key names (`hf_proj_type`,
 * `hf_pooler_type`) and the legacy ones (`proj`, `pooler_type`) are accepted.
 */
import { UserError } from '../errors.js';
import { OPENAI_MEAN, OPENAI_STD, type PreprocessConfig } from '../image/types.js';
import { CONFIG_FILE } from '../model-files.js';

export type { PreprocessConfig } from '../image/types.js';

export interface VisionConfig {
  timmModelName: string;
  imageSize: number;
  patchSize: number;
  width: number;
  layers: number;
  heads: number;
  /** Hidden size of each block's MLP (`mlp_ratio` × width). */
  mlpWidth: number;
  /** timm's ViT uses LayerNorm(eps=1e-6), not PyTorch's default 1e-5. */
  layerNormEps: number;
}

export interface TextConfig {
  hfModelName: string;
  contextLength: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  intermediateSize: number;
  vocabSize: number;
  maxPositions: number;
  typeVocabSize: number;
  /** BERT's LayerNorm eps is 1e-12: effectively no epsilon at float32 scale. */
  layerNormEps: number;
  /** Hidden width of the MLP projection: open_clip uses (width + embed_dim) // 2, 640 for BiomedCLIP. */
  projHidden: number;
  /** [PAD]'s id (0 in BERT vocabs): open_clip's attention mask is `input_ids != pad_token_id`. */
  padTokenId: number;
}

export interface ClipConfig {
  embedDim: number;
  vision: VisionConfig;
  text: TextConfig;
  preprocess: PreprocessConfig;
}

/** Dimensions of the timm models open_clip may name; only the plain ViT-B/16 is used by BiomedCLIP. */
const TIMM_MODELS: Record<string, { patchSize: number; width: number; layers: number; heads: number; imageSize: number }> = {
  vit_base_patch16_224: { patchSize: 16, width: 768, layers: 12, heads: 12, imageSize: 224 },
};

/** BERT-base shaped text models (PubMedBERT was renamed BiomedBERT on the hub; the legacy config has the old id). */
const BERT_BASE = {
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  vocab_size: 30522,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
};
const HF_MODELS: Record<string, typeof BERT_BASE> = {
  'microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract': BERT_BASE,
  'microsoft/BiomedNLP-PubMedBERT-base-uncased-abstract': BERT_BASE,
};

type Json = Record<string, unknown>;

function obj(value: unknown, where: string, source: string): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UserError(`${source}: '${where}' must be a JSON object`);
  }
  return value as Json;
}

function num(o: Json, key: string, fallback: number | undefined, where: string, source: string): number {
  const v = o[key];
  if (v === undefined) {
    if (fallback === undefined) throw new UserError(`${source}: '${where}.${key}' is missing`);
    return fallback;
  }
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new UserError(`${source}: '${where}.${key}' must be a positive number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function oneOf(value: unknown, valid: string[], where: string, source: string): string {
  if (typeof value !== 'string' || !valid.includes(value)) {
    throw new UserError(`${source}: '${where}' is ${JSON.stringify(value)}; valid values: ${valid.map((v) => JSON.stringify(v)).join(', ')}`);
  }
  return value;
}

function parseVision(v: Json, source: string): VisionConfig {
  const explicit = v.width !== undefined;
  const name = explicit ? String(v.timm_model_name ?? 'custom') : oneOf(v.timm_model_name, Object.keys(TIMM_MODELS), 'vision_cfg.timm_model_name', source);
  // BiomedCLIP reads the CLS token of the final norm ('') and projects it with a bias-free Linear.
  oneOf(v.timm_pool ?? '', [''], 'vision_cfg.timm_pool', source);
  oneOf(v.timm_proj ?? 'linear', ['linear'], 'vision_cfg.timm_proj', source);
  const base = TIMM_MODELS[name] ?? TIMM_MODELS.vit_base_patch16_224;
  const width = num(v, 'width', base.width, 'vision_cfg', source);
  const headWidth = num(v, 'head_width', width / base.heads, 'vision_cfg', source);
  const heads = width / headWidth;
  if (!Number.isInteger(heads)) throw new UserError(`${source}: vision width ${width} is not a multiple of head_width ${headWidth}`);
  const cfg: VisionConfig = {
    timmModelName: name,
    imageSize: num(v, 'image_size', base.imageSize, 'vision_cfg', source),
    patchSize: num(v, 'patch_size', base.patchSize, 'vision_cfg', source),
    width,
    layers: num(v, 'layers', base.layers, 'vision_cfg', source),
    heads,
    mlpWidth: Math.round(width * num(v, 'mlp_ratio', 4, 'vision_cfg', source)),
    layerNormEps: 1e-6,
  };
  if (cfg.imageSize % cfg.patchSize !== 0) {
    throw new UserError(`${source}: image_size ${cfg.imageSize} is not a multiple of patch_size ${cfg.patchSize}`);
  }
  return cfg;
}

function parseText(t: Json, embedDim: number, source: string): TextConfig {
  // Current key names first, then the legacy ones still found in older configs.
  oneOf(t.hf_proj_type ?? t.proj, ['mlp'], 'text_cfg.hf_proj_type', source);
  oneOf(t.hf_pooler_type ?? t.pooler_type, ['cls_last_hidden_state_pooler'], 'text_cfg.hf_pooler_type', source);
  const explicit = t.hf_model_config !== undefined;
  const name = explicit ? String(t.hf_model_name ?? 'custom') : oneOf(t.hf_model_name, Object.keys(HF_MODELS), 'text_cfg.hf_model_name', source);
  const h = explicit ? obj(t.hf_model_config, 'text_cfg.hf_model_config', source) : (HF_MODELS[name] as Json);
  const w = 'text_cfg.hf_model_config';
  const hiddenSize = num(h, 'hidden_size', undefined, w, source);
  const heads = num(h, 'num_attention_heads', undefined, w, source);
  if (hiddenSize % heads !== 0) throw new UserError(`${source}: hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${heads}`);
  return {
    hfModelName: name,
    contextLength: num(t, 'context_length', 256, 'text_cfg', source),
    hiddenSize,
    layers: num(h, 'num_hidden_layers', undefined, w, source),
    heads,
    intermediateSize: num(h, 'intermediate_size', undefined, w, source),
    vocabSize: num(h, 'vocab_size', undefined, w, source),
    maxPositions: num(h, 'max_position_embeddings', 512, w, source),
    typeVocabSize: num(h, 'type_vocab_size', 2, w, source),
    layerNormEps: num(h, 'layer_norm_eps', 1e-12, w, source),
    projHidden: Math.floor((hiddenSize + embedDim) / 2),
    padTokenId: tokenId(h, 'pad_token_id', 0, w, source),
  };
}

function tokenId(o: Json, key: string, fallback: number, where: string, source: string): number {
  const v = o[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new UserError(`${source}: '${where}.${key}' must be an integer >= 0, got ${JSON.stringify(v)}`);
  }
  return v;
}

function triple(value: unknown, fallback: [number, number, number], where: string, source: string): [number, number, number] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.length !== 3 || !value.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new UserError(`${source}: '${where}' must be a list of 3 numbers, got ${JSON.stringify(value)}`);
  }
  return value as [number, number, number];
}

/** Parses an `open_clip_config.json` object (or its `model_cfg` part alone). */
export function parseOpenClipConfig(json: unknown, source = CONFIG_FILE): ClipConfig {
  const root = obj(json, '(root)', source);
  const model = root.model_cfg !== undefined ? obj(root.model_cfg, 'model_cfg', source) : root;
  const embedDim = num(model, 'embed_dim', undefined, 'model_cfg', source);
  const vision = parseVision(obj(model.vision_cfg, 'model_cfg.vision_cfg', source), source);
  const text = parseText(obj(model.text_cfg, 'model_cfg.text_cfg', source), embedDim, source);
  const pre = root.preprocess_cfg === undefined ? {} : obj(root.preprocess_cfg, 'preprocess_cfg', source);
  const preprocess: PreprocessConfig = {
    imageSize: vision.imageSize,
    mean: triple(pre.mean, OPENAI_MEAN, 'preprocess_cfg.mean', source),
    std: triple(pre.std, OPENAI_STD, 'preprocess_cfg.std', source),
  };
  return { embedDim, vision, text, preprocess };
}

/** BiomedCLIP's own configuration, used when a model directory has no `open_clip_config.json`. */
export const DEFAULT_CONFIG: ClipConfig = parseOpenClipConfig(
  {
    model_cfg: {
      embed_dim: 512,
      vision_cfg: { timm_model_name: 'vit_base_patch16_224', timm_pool: '', timm_proj: 'linear', image_size: 224 },
      text_cfg: {
        hf_model_name: 'microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract',
        hf_proj_type: 'mlp',
        hf_pooler_type: 'cls_last_hidden_state_pooler',
        context_length: 256,
      },
    },
    preprocess_cfg: { mean: OPENAI_MEAN, std: OPENAI_STD },
  },
  'built-in BiomedCLIP config',
);
