/**
 * `biomedclip-ts/model`: the model's parts, for building on them (a probe, a variant tower, a new hook
 * point). Each class is a module: constructed from a `ModuleBuilder` (its parameters by checkpoint key, its
 * hook points declared), run with `forward(x, hooks)`. `modelSpec(cfg)` describes a whole model without
 * weights; `loadModel(dir)` builds a runnable one.
 */
export { attend, declareAttentionPoints, type AttentionPoints, mergeHeads, splitHeads } from './attention.js';
export { BiomedCLIPModel } from './clip.js';
export { DEFAULT_CONFIG, parseOpenClipConfig, type ClipConfig, type PreprocessConfig, type TextConfig, type VisionConfig } from './config.js';
export { clipLogits, l2Normalize, zeroShotProbs } from './head.js';
export { Hooks, NO_HOOKS, checkPatterns, closestNames, globToRegExp, type EditFn, type HookOptions, type IdleTower } from './hooks.js';
export { Gelu, LayerNorm, Linear, gelu } from './layers.js';
export { loadConfigFile, loadModel, loadModelConfig } from './load.js';
export { loadWeights } from './load-weights.js';
export {
  HookPoint,
  ModuleBase,
  ModuleBuilder,
  ModuleList,
  ParameterModule,
  SpecRecorder,
  bindShape,
  isModule,
  hookPoints,
  postOrder,
  type Dim,
  type HookPointSpec,
  type Module,
  type PointKind,
  type TreeNode,
} from './module.js';
export { KNOWN_UNUSED, expectedTensorShapes, matchTensors, modelSpec, pointShapes, type ModelSpec } from './spec.js';
export { SUMMARY_BATCH, recordHookShapes, summarize, type ModelSummary, type SummaryRow } from './summary.js';
export {
  BertAttention,
  BertEmbeddings,
  BertEncoder,
  BertIntermediate,
  BertLayer,
  BertModel,
  BertResidualOutput,
  BertSelfAttention,
  MlpProjection,
  TextTower,
} from './text.js';
export { PatchEmbed, VisionHead, VisionTower, VisionTransformer, VitAttention, VitBlock, VitMlp, visionTokens } from './vision.js';
export { WeightStore } from './weights.js';
