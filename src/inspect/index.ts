/**
 * Explanation and mechanistic-interpretability methods as functions over a model and captured tensors
 * (docs/explain.md): the heatmap methods, the logit lens, head ablation, activation patching, the
 * sanity checks, and the gradient rules they register with tfjs-core.
 */
export { explain, METHODS, type Method, type Explanation, type ExplainOptions } from './explain.js';
export { clsAttention, rollout, relevance, gradcam, legradLayer, type HeadFusion, type RolloutOptions } from './maps.js';
export { legrad, type LegradOptions } from './legrad.js';
export { probe, pairLogit, attentionPoint, pointShape, type PairInputs, type ProbeRequest, type ProbeResult } from './probe.js';
export { logitLens, lensFeatures, type LensRow, type Pool } from './lens.js';
export { ablateHeads, ablateHeadPerItem, ABLATION_MODES, type AblationMode, type HeadAblation } from './ablate.js';
export { patchActivations, type PatchOptions, type PatchResult } from './patching.js';
export { cascadingRandomization, deletionInsertion, promptSensitivity, shuffleWords, type MapOf, type Curve } from './sanity.js';
export { imageCascade, randomize } from './randomize.js';
export { spearman, auc } from './stats.js';
export { registerGradients, GRADIENTS } from './gradients.js';
export { renderHeatmap, type HeatmapPicture } from './render/heatmap.js';
