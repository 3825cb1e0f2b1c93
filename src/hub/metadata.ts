/**
 * What the hub says about one file before any byte of it is fetched: the commit the revision points to,
 * the file's content id (ETag), its size, and where its bytes are served from.
 *
 * As huggingface_hub's `get_hf_file_metadata` does, this is a HEAD request to the resolve URL that does
 * NOT follow the redirect to the CDN: for a Git LFS file the hub answers 302 and puts the interesting
 * headers on that redirect itself (`X-Linked-Etag` = the LFS sha256, `X-Linked-Size`, `X-Repo-Commit`),
 * while the CDN's own ETag is about its storage, not the file. Relative redirects (a renamed repo, the
 * hub's internal resolve cache) are followed, at most a few hops.
 */
import { HttpStatusError } from './errors.js';
import { discard, displayUrl, header, isRedirect, readSmallBody, request, resolveLocation, sameOrigin, type HttpResponse } from './http.js';

export interface FileMetadata {
  /** The 40-hex commit the requested revision resolved to (`X-Repo-Commit`). */
  commit: string;
  /** Normalized ETag: the LFS sha256 (64 hex) for big files, the git blob sha1 (40 hex) for small ones. */
  etag: string;
  /** Where to GET the bytes: the CDN URL for LFS files, the resolve URL itself otherwise. */
  location: string;
  /** Size in bytes when the hub said (`X-Linked-Size`, else Content-Length). */
  size: number | undefined;
}

const MAX_HOPS = 5;

/** Resolve URL of a file: `{endpoint}/{repo}/resolve/{revision}/{file}` (revision fully escaped, path kept). */
export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  const filePath = file.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${filePath}`;
}

/**
 * ETag as a file name: the hub sends `"<hex>"`; HTTP also allows a weak `W/"<hex>"`. Quotes and the weak
 * marker are dropped, as huggingface_hub's `_normalize_etag` does.
 */
export function normalizeEtag(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const value = raw.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return value === '' ? undefined : value;
}

export interface MetadataOptions {
  /** The Authorization header value, sent only to the hub's own origin. */
  authorization: string | undefined;
  timeoutMs: number;
}

/**
 * HEAD the resolve URL and read the hub's headers; throws HttpStatusError for 4xx/5xx, NetworkError offline.
 *
 * Redirects, as huggingface_hub's `_request_wrapper(follow_relative_redirects=True)` treats them: a relative
 * Location stays on the hub (renamed repo, the hub's own resolve cache) and is followed, and the answer at
 * its end carries the headers; an absolute Location with hub headers is the CDN copy of an LFS file and is
 * NOT followed: that 3xx is the answer. When a relative redirect itself carried complete hub headers and
 * leads to a plain file server (a CDN path on the hub's origin), those headers are used.
 */
export async function fetchMetadata(url: string, opts: MetadataOptions): Promise<FileMetadata> {
  let current = url;
  let fromRedirect: FileMetadata | undefined;
  for (let hop = 0; hop <= MAX_HOPS; hop++) {
    const headers: Record<string, string> = {};
    if (opts.authorization !== undefined && sameOrigin(current, url)) headers.authorization = opts.authorization;
    const res = await request(current, { method: 'HEAD', headers, timeoutMs: opts.timeoutMs });
    discard(res);
    if (res.status >= 400) throw await statusError(res);
    const location = isRedirect(res.status) ? resolveLocation(res) : undefined;
    if (location === undefined) return carriesHubHeaders(res) || fromRedirect === undefined ? parseMetadata(res, current) : fromRedirect;
    if (!isRelative(header(res, 'location') ?? '') && carriesHubHeaders(res)) return parseMetadata(res, location);
    if (carriesHubHeaders(res)) fromRedirect = tryParse(res, location) ?? fromRedirect;
    current = location; // relative, or a hop with no hub headers (http → https): the answer is further on
  }
  throw new HttpStatusError(310, undefined, url, `more than ${MAX_HOPS} redirects`);
}

/** A Location without scheme and host (`/path`), which keeps the request on the same server. */
function isRelative(location: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(location) && !location.startsWith('//');
}

function tryParse(res: HttpResponse, location: string): FileMetadata | undefined {
  try {
    return parseMetadata(res, location);
  } catch {
    return undefined;
  }
}

function carriesHubHeaders(res: HttpResponse): boolean {
  return header(res, 'x-repo-commit') !== undefined || header(res, 'x-linked-etag') !== undefined;
}

function parseMetadata(res: HttpResponse, location: string): FileMetadata {
  const commit = header(res, 'x-repo-commit');
  // The linked (LFS) ETag wins: on a redirect the plain ETag may describe the pointer, not the file.
  const etag = normalizeEtag(header(res, 'x-linked-etag') ?? header(res, 'etag'));
  if (commit === undefined || !/^[0-9a-f]{40}$/.test(commit)) {
    throw new MetadataError(`no valid X-Repo-Commit header from ${displayUrl(res.url)}`);
  }
  // The ETag becomes a file name in the cache: anything but a plain token could escape the blobs folder.
  if (etag === undefined || !/^[0-9A-Za-z][0-9A-Za-z._-]*$/.test(etag)) {
    throw new MetadataError(`no usable ETag header from ${displayUrl(res.url)}`);
  }
  return { commit, etag, location, size: parseSize(header(res, 'x-linked-size') ?? header(res, 'content-length')) };
}

function parseSize(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim());
}

/** The server answered, but not like a Hugging Face hub (missing or malformed headers). */
export class MetadataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataError';
  }
}

/** Builds an HttpStatusError from a 4xx/5xx answer, keeping the hub's error code and message. */
export async function statusError(res: HttpResponse): Promise<HttpStatusError> {
  const code = header(res, 'x-error-code');
  const message = header(res, 'x-error-message') ?? (await readSmallBody(res, 300)).replace(/\s+/g, ' ').trim();
  return new HttpStatusError(res.status, code, res.url, message);
}
