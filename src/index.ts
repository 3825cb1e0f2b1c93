/**
 * biomedclip-ts: BiomedCLIP in TypeScript on TensorFlow.js. The library API is `BiomedCLIP`; the model,
 * hooks, tokenizer, image pipeline, weights I/O and the explanation methods (src/inspect) are exported
 * for those who want the parts.
 */
export { BiomedCLIP, DEFAULT_TEMPLATE, fillTemplate, type Embedding, type LabelScore, type LoadModelOptions, type TraceInputs } from './api/biomedclip.js';
export { forward, resultTensors, disposeResult, type ForwardInputs, type ForwardResult } from './api/forward.js';
export { ClipCore, type CoreParts, type ImageOptions, type TextOptions } from './api/core.js';
export { useBackend, BACKENDS, type BackendName } from './backends/select.js';
export { UserError } from './errors.js';
export { BiomedCLIPModel } from './model/clip.js';
export { parseOpenClipConfig, DEFAULT_CONFIG, type ClipConfig, type VisionConfig, type TextConfig } from './model/config.js';
export { Hooks, globToRegExp, type HookOptions, type EditFn } from './model/hooks.js';
export { expectedTensorShapes, KNOWN_UNUSED } from './model/spec.js';
export { loadConfigFile, loadModel } from './model/load.js';
export { l2Normalize, clipLogits, zeroShotProbs } from './model/head.js';
export { compareTraces, diffTensors, formatDiffTable, TOLERANCES, type HookDiff, type TraceSource } from './parity/compare.js';
export type { HostTensor } from './host-tensor.js';
export { WordPieceTokenizer, cleanText, type Encoding, type EncodeOptions } from './tokenizer/index.js';
export { preprocessImage, DEFAULT_PREPROCESS, type ImageInput, type RawImage, type Preprocessed } from './image/index.js';
export { SafetensorsFile, writeSafetensors } from './weights/index.js';
export { convertCheckpoint } from './convert/convert.js';
export * from './inspect/index.js';
export { pairInputs, disposePair, type Pair } from './api/pair.js';
