/**
 * What `biomedclip view` embeds in its HTML page: one JSON object (`PageData`, in
 * `<script type="application/json" id="view-data">`) and binary blocks it points to by id (each a
 * `<script type="application/octet-stream">` holding base64 of gzip). Types only: the Node side
 * (page.ts) writes it and the browser side (client/) reads it, so both compile against this one file.
 *
 * The records that the page also offers for download follow the JSON contracts of the other commands:
 * `ExplainRecord` is one object of `explain --json`, `LensRecord` one of `lens --json`, and the attention
 * tensors keep `trace`'s hook names and shapes.
 */

/** A binary block: the id of its script element, and what it decompresses to. */
export interface BlockRef {
  id: string;
  /** Bytes after base64 and gunzip. */
  bytes: number;
}

/**
 * Attention probabilities of one input, every layer and head, stored as 8 bits per value with a scale per
 * row: block bytes = float32 row maxima [L, H, S] (little-endian), then uint8 [L, H, S, S] with
 * value ≈ byte / 255 · row max. Each value is within row max / 510 of the model's.
 */
export interface PackedAttention {
  block: BlockRef;
  /** [layers, heads, queries, keys]. */
  shape: [number, number, number, number];
  /** The `trace` hook name of each layer's tensor (`visual.trunk.blocks.3.attn.probs`), in layer order. */
  names: string[];
}

/** One object of `explain --json`: a method's raw map for one image-text pair. */
export interface ExplainRecord {
  method: string;
  image: string;
  text: string;
  grid: [number, number];
  /** One raw value per patch, row-major, not normalised. */
  image_map: number[];
  /** WordPieces with [CLS] and [SEP]. */
  tokens: string[];
  /** One raw value per token, or null for image-only methods. */
  text_map: number[] | null;
  logit: number;
}

/** One object of `lens --json`: each image block's [CLS] read through the final norm and head. */
export interface LensRecord {
  image: string;
  texts: string[];
  layers: Array<{ layer: number; cosine: number[]; logit: number[]; probability?: number[] }>;
}

export interface LabelScore {
  label: string;
  probability: number;
  logit: number;
}

export interface ImageEntry {
  /** The image as given on the command line. */
  name: string;
  /** The crop the model saw: RGB bytes [size, size, 3]. */
  crop: BlockRef;
  attention: PackedAttention;
  lens: LensRecord | null;
  /** Zero-shot scores over `PageData.labels`, most probable first; null without labels. */
  scores: LabelScore[] | null;
}

export interface TextEntry {
  text: string;
  tokens: string[];
  attention: PackedAttention;
}

export interface TowerShape {
  layers: number;
  heads: number;
}

/** What one part of the file costs, in bytes as stored (base64 included). */
export interface CostLine {
  part: string;
  bytes: number;
}

export interface PageData {
  format: 'biomedclip-ts view v1';
  model: {
    dir: string;
    /** Set for the demo model, whose results must never pass for BiomedCLIP's: the page's banner ... */
    warning: string | null;
    /** ... and the `model` field the other commands' JSON carries for it. */
    label: string | null;
    vision: TowerShape & { imageSize: number; patchSize: number; grid: [number, number] };
    text: TowerShape;
  };
  /** The overlay colormap: 256 RGB entries, base64 of 768 bytes. */
  colormap: { name: string; lut: string };
  labels: string[] | null;
  /** Methods explained for each image-text pair, in display order. */
  methods: string[];
  images: ImageEntry[];
  texts: TextEntry[];
  explanations: ExplainRecord[];
  cost: CostLine[];
}
