/**
 * A local stand-in for the Hugging Face hub and its CDN, on 127.0.0.1 only, for the download tests.
 *
 * It answers like huggingface.co does (as huggingface_hub's tests and file_download.py expect it):
 * - `HEAD|GET /{org}/{name}/resolve/{revision}/{file}` on the hub server;
 *   plain files: 200 with `ETag: "<git blob sha1>"`, `X-Repo-Commit`, the bytes;
 *   LFS files: 302 to the CDN with `X-Linked-Etag: "<sha256>"`, `X-Linked-Size`, `X-Repo-Commit`, and a
 *   plain ETag that is NOT the file's (the pointer's), so a client that reads the wrong header fails;
 * - errors with `X-Error-Code`: unknown repo 401 RepoNotFound, unknown revision 404 RevisionNotFound,
 *   unknown file 404 EntryNotFound, a required token missing 401;
 * - the CDN is a second server (another origin, as a real CDN host is), serving `/lfs/<sha256>` with Range
 *   and 206; `relativeRedirect` serves it from the hub's own origin via a relative Location instead.
 * Faults for the tests: cut the connection after N bytes, ignore Range (answer 200), corrupt the bytes.
 * Every request is logged (server, method, path, Authorization, Range, status) for the assertions.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BIOMEDBERT_REVISION } from '../../src/hub/pins.js';

export interface FakeFile {
  content: Buffer;
  /** Served through a 302 to the CDN, with the LFS sha256 as X-Linked-Etag (like the 784 MB checkpoint). */
  lfs?: boolean;
}

export interface FakeRepo {
  commit: string;
  /** Branch or tag → commit; the commit itself always resolves. */
  refs?: Record<string, string>;
  files: Record<string, FakeFile>;
}

export interface FakeHubFaults {
  /** Cut the connection after this many body bytes, for the next `times` CDN GETs. */
  cut?: { afterBytes: number; times: number };
  /** Answer Range requests with 200 and the whole file (a server may ignore Range). */
  ignoreRange?: boolean;
  /** Serve LFS bytes with one byte flipped, while advertising the true sha256. */
  corrupt?: boolean;
  /** Require `Authorization: Bearer <token>` on the hub (401 otherwise). */
  requireToken?: string;
  /** Redirect LFS files to a CDN path on the hub's own origin with a relative Location. */
  relativeRedirect?: boolean;
  /**
   * Plain files answer with a relative 307 to `/api/resolve-cache/models/{repo}/{commit}/{file}` that has
   * X-Repo-Commit but no ETag (as huggingface.co does for small files); the file and its ETag are there.
   */
  resolveCache?: boolean;
  /** Answer the next `times` CDN GETs with this status (e.g. 503) instead of the bytes. */
  cdnStatus?: { status: number; times: number };
}

export interface LoggedRequest {
  server: 'hub' | 'cdn';
  method: string;
  path: string;
  authorization: string | undefined;
  range: string | undefined;
  status: number;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function gitBlobSha1(data: Buffer): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

export class FakeHub {
  readonly log: LoggedRequest[] = [];
  faults: FakeHubFaults = {};
  endpoint = '';
  cdnOrigin = '';
  private readonly hub = http.createServer((req, res) => this.handle('hub', req, res));
  private readonly cdn = http.createServer((req, res) => this.handle('cdn', req, res));

  private constructor(readonly repos: Record<string, FakeRepo>) {}

  static async start(repos: Record<string, FakeRepo>, faults: FakeHubFaults = {}): Promise<FakeHub> {
    const hub = new FakeHub(repos);
    hub.faults = faults;
    hub.endpoint = `http://127.0.0.1:${await listen(hub.hub)}`;
    hub.cdnOrigin = `http://127.0.0.1:${await listen(hub.cdn)}`;
    return hub;
  }

  async close(): Promise<void> {
    for (const server of [this.hub, this.cdn]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** Requests that reached a server, optionally only GETs of the CDN path. */
  requests(filter: Partial<Pick<LoggedRequest, 'server' | 'method'>> = {}): LoggedRequest[] {
    return this.log.filter((r) => (filter.server ?? r.server) === r.server && (filter.method ?? r.method) === r.method);
  }

  private handle(server: 'hub' | 'cdn', req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const entry: LoggedRequest = {
      server,
      method: req.method ?? 'GET',
      path: url.pathname,
      authorization: req.headers.authorization,
      range: req.headers.range,
      status: 0,
    };
    this.log.push(entry);
    res.on('finish', () => (entry.status = res.statusCode));
    res.on('close', () => (entry.status ||= res.statusCode));
    if (url.pathname.startsWith('/lfs/')) return this.serveLfs(req, res, url.pathname.slice(5));
    if (url.pathname.startsWith('/api/resolve-cache/models/')) return this.resolveCached(req, res, decodeURIComponent(url.pathname));
    if (server === 'cdn') return end(res, 404, {});
    this.resolve(req, res, decodeURIComponent(url.pathname));
  }

  /** The hub's resolve endpoint. */
  private resolve(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): void {
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(pathname);
    if (m === null) return end(res, 404, { 'x-error-code': 'EntryNotFound' });
    const [, repoId, revision, file] = m;
    const token = this.faults.requireToken;
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
      return end(res, 401, { 'x-error-message': 'Invalid credentials in Authorization header' });
    }
    const repo = this.repos[repoId];
    if (repo === undefined) return end(res, 401, { 'x-error-code': 'RepoNotFound', 'x-error-message': 'Repository not found' });
    const commit = revision === repo.commit ? repo.commit : repo.refs?.[revision];
    if (commit === undefined) return end(res, 404, { 'x-error-code': 'RevisionNotFound', 'x-error-message': 'Invalid rev id' });
    const entry = repo.files[file];
    if (entry === undefined) return end(res, 404, { 'x-error-code': 'EntryNotFound', 'x-repo-commit': commit });
    if (entry.lfs === true) {
      const oid = sha256(entry.content);
      const location = this.faults.relativeRedirect ? `/lfs/${oid}?sig=abc` : `${this.cdnOrigin}/lfs/${oid}?sig=abc`;
      return end(res, 302, {
        location,
        'x-repo-commit': commit,
        'x-linked-etag': `"${oid}"`,
        'x-linked-size': String(entry.content.length),
        etag: `"${gitBlobSha1(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\n`))}"`,
      });
    }
    if (this.faults.resolveCache) {
      return end(res, 307, { location: `/api/resolve-cache/models/${repoId}/${commit}/${file}?etag=x`, 'x-repo-commit': commit });
    }
    serveBytes(req, res, entry.content, { etag: `"${gitBlobSha1(entry.content)}"`, 'x-repo-commit': commit }, false);
  }

  /** The hub's internal cache of small files, reached by a relative redirect from resolve. */
  private resolveCached(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): void {
    const m = /^\/api\/resolve-cache\/models\/([^/]+\/[^/]+)\/([0-9a-f]{40})\/(.+)$/.exec(pathname);
    const entry = m === null ? undefined : this.repos[m[1]]?.files[m[3]];
    if (m === null || entry === undefined) return end(res, 404, {});
    serveBytes(req, res, entry.content, { etag: `"${gitBlobSha1(entry.content)}"`, 'x-repo-commit': m[2] }, false);
  }

  /** The CDN: LFS objects by sha256, with the configured faults. */
  private serveLfs(req: http.IncomingMessage, res: http.ServerResponse, oid: string): void {
    const file = Object.values(this.repos)
      .flatMap((r) => Object.values(r.files))
      .find((f) => f.lfs === true && sha256(f.content) === oid);
    if (file === undefined) return end(res, 404, {});
    const fail = this.faults.cdnStatus;
    if (fail !== undefined && fail.times > 0 && req.method === 'GET') {
      fail.times--;
      return end(res, fail.status, {});
    }
    let content = file.content;
    if (this.faults.corrupt) {
      content = Buffer.from(content);
      content[content.length >> 1] ^= 0xff;
    }
    let cutAfter: number | undefined;
    const cut = this.faults.cut;
    if (cut !== undefined && cut.times > 0 && req.method === 'GET') {
      cut.times--;
      cutAfter = cut.afterBytes;
    }
    serveBytes(req, res, content, {}, this.faults.ignoreRange === true, cutAfter);
  }
}

/** Sends `content` honouring `Range: bytes=a-` (206 / 416) unless told to ignore it; can cut mid-body. */
function serveBytes(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  content: Buffer,
  headers: Record<string, string>,
  ignoreRange: boolean,
  cutAfter?: number,
): void {
  let body = content;
  let status = 200;
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (range !== null && !ignoreRange) {
    const start = Number(range[1]);
    const last = range[2] === '' ? content.length - 1 : Math.min(Number(range[2]), content.length - 1);
    if (start >= content.length) return end(res, 416, { ...headers, 'content-range': `bytes */${content.length}` });
    body = content.subarray(start, last + 1);
    status = 206;
    headers = { ...headers, 'content-range': `bytes ${start}-${last}/${content.length}` };
  }
  res.writeHead(status, { ...headers, 'content-length': String(body.length), 'accept-ranges': 'bytes' });
  if (req.method === 'HEAD') return void res.end();
  if (cutAfter !== undefined && cutAfter < body.length) {
    // Send the first bytes, give the client time to read them, then drop the socket: the client sees a
    // body shorter than Content-Length, as when a real link dies mid-transfer.
    res.write(body.subarray(0, cutAfter), () => setTimeout(() => res.socket?.destroy(), 30));
    return;
  }
  res.end(body);
}

function end(res: http.ServerResponse, status: number, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'content-length': '0' });
  res.end();
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/**
 * Commits of the fake repos. BiomedCLIP's is deliberately not the pinned one (the pinned sha256 of the real
 * 784 MB checkpoint applies there); BiomedBERT's is the pinned one, so the default vocab revision resolves.
 */
export const FAKE_CLIP_COMMIT = '0123456789abcdef0123456789abcdef01234567';
export const FAKE_BERT_COMMIT = BIOMEDBERT_REVISION;

export interface FakeModelFiles {
  repos: Record<string, FakeRepo>;
  config: Buffer;
  vocab: Buffer;
  checkpoint: Buffer;
}

/** Deterministic pseudo-random bytes (a 32-bit LCG): incompressible enough, identical on every run. */
export function pseudoRandomBytes(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/**
 * The two BiomedCLIP repos under their real names, with small stand-in files: the checkpoint is LFS
 * (`checkpoint` bytes, default 8 KB), config and vocab are plain git files. `main` points at the fake
 * commit in both repos.
 */
export function fakeModelRepos(files: Partial<Omit<FakeModelFiles, 'repos'>> = {}): FakeModelFiles {
  const config = files.config ?? Buffer.from('{"model_cfg": {"embed_dim": 512}}\n');
  const vocab = files.vocab ?? Buffer.from('[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n');
  const checkpoint = files.checkpoint ?? pseudoRandomBytes(8192);
  const repos: Record<string, FakeRepo> = {
    'microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224': {
      commit: FAKE_CLIP_COMMIT,
      refs: { main: FAKE_CLIP_COMMIT },
      files: { 'open_clip_config.json': { content: config }, 'open_clip_pytorch_model.bin': { content: checkpoint, lfs: true } },
    },
    'microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract': {
      commit: FAKE_BERT_COMMIT,
      refs: { main: FAKE_BERT_COMMIT },
      files: { 'vocab.txt': { content: vocab } },
    },
  };
  return { repos, config, vocab, checkpoint };
}
