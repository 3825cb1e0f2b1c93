/**
 * Text embeddings of a label set, cached: a zero-shot loop that classifies many images (or many batches)
 * against the same labels and templates runs the text tower once, not once per call. A small LRU keyed by
 * the model instance, the labels and the templates; callers get copies, so mutating a result never
 * corrupts the cache. Bounded twice: at most `capacity` label sets and `maxLabels` labels in all (32,768
 * labels of BiomedCLIP's 512 floats are 64 MB), so a few huge label sets cannot pile up; a set larger than
 * `maxLabels` is computed and returned but not kept.
 */
/** What the cache needs from a model (BiomedCLIP has it): the template-ensembled label embeddings. */
export interface LabelEmbedder {
  labelEmbeddings(labels: string[], templates: string[]): Promise<Float32Array[]>;
}

export class LabelEmbeddingCache {
  /** key → pending or settled embeddings and their label count; Map keeps insertion order = recency order. */
  private readonly entries = new Map<string, { labels: number; embeddings: Promise<Float32Array[]> }>();
  private readonly modelIds = new WeakMap<object, number>();
  private nextModelId = 0;
  hits = 0;
  misses = 0;

  /** @param capacity  label sets kept (each costs labels × embed_dim floats: 512 labels ≈ 1 MB) */
  constructor(
    readonly capacity = 16,
    readonly maxLabels = 32_768,
  ) {}

  /** One normalized embedding per label, computed by `model.labelEmbeddings` on a miss. */
  async get(model: LabelEmbedder, labels: string[], templates: string[]): Promise<Float32Array[]> {
    const key = JSON.stringify([this.modelId(model), labels, templates]);
    let entry = this.entries.get(key);
    if (entry !== undefined) {
      this.hits++;
      this.entries.delete(key); // re-inserted below: now the most recent
    } else {
      this.misses++;
      const created = { labels: labels.length, embeddings: model.labelEmbeddings(labels, templates) };
      // A failed computation is not cached: the next call retries.
      created.embeddings.catch(() => this.entries.get(key) === created && this.entries.delete(key));
      entry = created;
    }
    if (entry.labels <= this.maxLabels) this.entries.set(key, entry);
    let total = [...this.entries.values()].reduce((n, e) => n + e.labels, 0);
    while (this.entries.size > this.capacity || total > this.maxLabels) {
      const oldest = this.entries.keys().next().value as string;
      total -= (this.entries.get(oldest) as { labels: number }).labels;
      this.entries.delete(oldest);
    }
    return (await entry.embeddings).map((e) => e.slice());
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }

  private modelId(model: object): number {
    let id = this.modelIds.get(model);
    if (id === undefined) this.modelIds.set(model, (id = this.nextModelId++));
    return id;
  }
}
