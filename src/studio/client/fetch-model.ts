/**
 * Fetching a model directory's files into the page: the config and vocabulary as text, the weights as
 * bytes with progress. The weights are kept in the browser's Cache Storage under their sha256 (the
 * directory's fingerprint.json, written by convert/download), so a reload reads them from disk instead
 * of the network, and new weights in the same place are never mistaken for the old ones.
 */
export interface ModelFiles {
  /** The URL folder the files came from. */
  base: string;
  config: unknown;
  vocab: string;
  weights: Uint8Array;
  /** sha256 of the weights, when the directory has a fingerprint. */
  sha256?: string;
  /** Whether the weights came from the page's cache rather than the network. */
  cached: boolean;
}

export type FetchProgress = (loaded: number, total: number | undefined) => void;

const CACHE = 'biomedclip-weights';

async function fetchOk(url: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new Error(`cannot fetch ${url} (${(err as Error).message}); is \`biomedclip serve\` still running?`, { cause: err });
  }
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}; the model directory must hold model.safetensors and vocab.txt`);
  return res;
}

/** The body's bytes, reporting progress as they arrive. */
async function readBody(res: Response, onProgress: FetchProgress): Promise<Uint8Array> {
  const total = Number(res.headers.get('Content-Length')) || undefined;
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  // One allocation of the announced size: a growing list of chunks would hold the weights twice at the end.
  let out = new Uint8Array(total ?? 1 << 20);
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > out.length) {
      const bigger = new Uint8Array(Math.max(out.length * 2, loaded + value.length));
      bigger.set(out.subarray(0, loaded));
      out = bigger;
    }
    out.set(value, loaded);
    loaded += value.length;
    onProgress(loaded, total);
  }
  if (total !== undefined && loaded !== total) throw new Error(`${res.url}: got ${loaded} of ${total} bytes; reload to fetch the weights again`);
  return out.subarray(0, loaded);
}

/** The directory's weights sha256, or undefined (no fingerprint: the page then never caches). */
async function fingerprint(base: string): Promise<string | undefined> {
  const res = await fetch(new URL('fingerprint.json', base)).catch(() => undefined);
  if (!res?.ok) return undefined;
  const json = (await res.json().catch(() => undefined)) as { weights?: { sha256?: string } } | undefined;
  const sha = json?.weights?.sha256;
  return typeof sha === 'string' && /^[0-9a-f]{64}$/.test(sha) ? sha : undefined;
}

async function openCache(): Promise<Cache | undefined> {
  // Cache Storage exists only in secure contexts (https, or http://127.0.0.1 and localhost).
  return globalThis.caches?.open(CACHE).catch(() => undefined);
}

/** The weights: from the page's cache when it holds these exact bytes, else fetched (and then cached). */
async function weights(base: string, sha256: string | undefined, onProgress: FetchProgress): Promise<{ bytes: Uint8Array; cached: boolean }> {
  const url = new URL('model.safetensors', base).href;
  const key = sha256 ? `${url}?sha256=${sha256}` : undefined;
  const cache = key ? await openCache() : undefined;
  const hit = key ? await cache?.match(key) : undefined;
  if (hit) return { bytes: await readBody(hit, onProgress), cached: true };
  const res = await fetchOk(url);
  // The cache takes its own copy of the stream as it arrives: putting the finished bytes as one 784 MB Blob
  // failed in Chromium more often than not ("UnknownError"), the streamed response never did (bench_page).
  let stored: Promise<unknown> = Promise.resolve();
  if (cache && key) {
    // Older weights of the same URL go: a cache that only grows would fill the disk with every model tried.
    for (const old of await cache.keys()) if (old.url.startsWith(`${url}?`)) await cache.delete(old);
    stored = cache.put(key, res.clone()).catch(() => undefined); // no cache, no harm: the next visit downloads again
  }
  const bytes = await readBody(res, onProgress);
  await stored;
  return { bytes, cached: false };
}

/** Fetches the files of the model directory at `base` (a URL ending in /). */
export async function fetchModel(base: string, onProgress: FetchProgress): Promise<ModelFiles> {
  const configRes = await fetch(new URL('open_clip_config.json', base)).catch(() => undefined);
  const config = configRes?.ok ? await configRes.json().catch(() => undefined) : undefined;
  if (configRes?.ok && config === undefined)
    throw new Error(`${base}open_clip_config.json is not JSON; rebuild the model directory with \`biomedclip convert\``);
  const vocab = await (await fetchOk(new URL('vocab.txt', base).href)).text();
  const sha256 = await fingerprint(base);
  const w = await weights(base, sha256, onProgress);
  return { base, config, vocab, weights: w.bytes, sha256, cached: w.cached };
}
