/**
 * `biomedclip serve`: a small local HTTP server for the explorer (the model running in the page). It
 * serves these and nothing else (a path outside them, or one that tries to climb out, is a 404):
 *   /, /assets/NAME the explorer's built files (studio/files.ts says where they are)
 *   /model/NAME     the model directory's files, by their fixed names (model-files.ts): never a path
 *   /tfjs/NAME.wasm tfjs-backend-wasm's binaries, which the page's wasm backend fetches
 *   /examples/...   the shipped example images, and their list as /examples/index.json
 *   /source/DIR/F   the copies of src/ that the forward-pass walk shows beside each step
 * Every response carries the two headers that make the page cross-origin isolated (COOP same-origin,
 * COEP require-corp): only then may a page share memory between threads, which wasm's threaded build
 * needs. The weights answer range requests, so a browser can resume a broken download.
 */
import { createReadStream, promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../errors.js';
import { MODEL_DIR_FILES } from '../model-files.js';
import { exampleImages, studioFiles, type StudioFiles } from './files.js';

export interface ServeOptions {
  modelDir: string;
  /** 0 picks any free port. */
  port: number;
  host: string;
  /** Where the built page and the wasm binaries are (the package's own by default). */
  files?: StudioFiles;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream',
  '.ts': 'text/plain; charset=utf-8',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
};

/** Headers of every answer: isolation for wasm threads, and no guessing of types. */
const BASE_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
};

/** Maps a request path to a file on disk, or undefined (404). Only names from fixed lists are served. */
async function resolve(urlPath: string, opts: ServeOptions, files: StudioFiles): Promise<string | undefined> {
  // /index.html too: a static copy (`studio --out`) answers it, so a bookmark works on both.
  if (urlPath === '/' || urlPath === '/index.html') return path.join(files.page, 'index.html');
  const [, room, name, ...rest] = urlPath.split('/');
  if (room === 'source') return sourceFile(files, name, rest);
  if (rest.length > 0 || !name) return undefined;
  if (room === 'model') return MODEL_DIR_FILES.includes(name) ? path.join(opts.modelDir, name) : undefined;
  if (room === 'tfjs') return files.wasm.includes(name) ? path.join(files.wasmDir, name) : undefined;
  if (room === 'examples') return (await exampleImages(files)).includes(name) ? path.join(files.examples, name) : undefined;
  if (room === 'assets') return files.pageFiles.includes(name) ? path.join(files.page, name) : undefined;
  return undefined;
}

/** /source/DIR/FILE.ts: a copy of src/ the walk shows; only plain names, so no path leaves the folder. */
function sourceFile(files: StudioFiles, dir: string | undefined, rest: string[]): string | undefined {
  const plain = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
  if (!dir || rest.length !== 1 || !plain.test(dir) || !plain.test(rest[0]) || !rest[0].endsWith('.ts')) return undefined;
  return path.join(files.source, dir, rest[0]);
}

/**
 * What a Range header asks of a file of `size` bytes (RFC 9110 §14): one byte range, 'unsatisfiable' (416),
 * or 'ignore' (answer the whole file with 200), which the RFC asks for a unit other than bytes and allows
 * for syntax it cannot read; several ranges are answered whole too (a multipart body no page asks for).
 */
export function parseRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' | 'ignore' {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'ignore';
  if (m[1] === '') {
    const suffix = Number(m[2]); // the last `suffix` bytes; none of an empty file, and `-0` asks for nothing
    return suffix === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? Infinity : Number(m[2]);
  if (last < start) return 'ignore'; // `bytes=9-5` is not a range at all
  return start < size ? { start, end: Math.min(last, size - 1) } : 'unsatisfiable';
}

async function sendFile(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
  const stat = await fs.stat(file).catch(() => undefined);
  if (!stat?.isFile()) return void send(res, 404, 'not found');
  const headers: Record<string, string | number> = {
    ...BASE_HEADERS,
    'Content-Type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    // The page keeps the weights in its own cache (keyed by the model's fingerprint): the HTTP cache
    // need not keep a second copy of hundreds of megabytes.
    'Cache-Control': 'no-cache',
    'Last-Modified': stat.mtime.toUTCString(),
  };
  let start = 0;
  let end = stat.size - 1;
  let status = 200;
  const range = req.headers.range === undefined ? 'ignore' : parseRange(req.headers.range, stat.size);
  if (range === 'unsatisfiable') return void send(res, 416, 'range not satisfiable', { 'Content-Range': `bytes */${stat.size}` });
  if (range !== 'ignore') {
    ({ start, end } = range);
    status = 206;
    headers['Content-Range'] = `bytes ${start}-${end}/${stat.size}`;
  }
  headers['Content-Length'] = end - start + 1;
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || stat.size === 0) return void res.end();
  // pipeline, not pipe: a browser that drops the download (a reload, a closed tab) closes the response,
  // and only pipeline then closes the file too; pipe would leave it open, one descriptor per drop.
  await pipeline(createReadStream(file, { start, end }), res).catch(() => res.destroy());
}

function send(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...BASE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', ...extra });
  res.end(`${text}\n`);
}

/** Names of this machine that a browser may use in the Host header when the server listens on loopback only. */
const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]']);
const isLoopback = (host: string) => host === '127.0.0.1' || host === '::1' || host === 'localhost';

/**
 * On loopback, a request must name this machine in its Host header: a web page elsewhere could otherwise
 * point a DNS name of its own at 127.0.0.1 and read the server's answers from its own origin (DNS
 * rebinding). Bound to another address, the server is shared on purpose and any name is accepted.
 */
function hostAllowed(req: IncomingMessage, opts: ServeOptions): boolean {
  if (!isLoopback(opts.host)) return true;
  const name = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  return LOOPBACK_NAMES.has(name);
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: ServeOptions, files: StudioFiles): Promise<void> {
  if (!hostAllowed(req, opts)) return send(res, 403, 'this server answers only to 127.0.0.1, localhost or [::1]');
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'only GET and HEAD', { Allow: 'GET, HEAD' });
  const urlPath = decodedPath(req.url ?? '/');
  if (urlPath === undefined) return send(res, 400, 'bad request: malformed percent-encoding in the path');
  if (urlPath === '/examples/index.json') {
    res.writeHead(200, { ...BASE_HEADERS, 'Content-Type': TYPES['.json'], 'Cache-Control': 'no-cache' });
    return void res.end(JSON.stringify(await exampleImages(files)));
  }
  const file = await resolve(urlPath, opts, files);
  if (file === undefined) return send(res, 404, 'not found');
  await sendFile(req, res, file);
}

/** The request's path, percent-decoded; undefined when its encoding is malformed (`/%E0%A4%A`). */
function decodedPath(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url, 'http://localhost').pathname);
  } catch {
    return undefined; // URIError: answered 400, not the 500 of an unexpected failure
  }
}

/** Why listening failed, in the user's terms (their flags); an unexpected failure as it came. */
function listenError(err: NodeJS.ErrnoException, opts: ServeOptions): Error {
  const fix = 'pass another --port, or --port 0 for any free one';
  if (err.code === 'EADDRINUSE') return new UserError(`port ${opts.port} on ${opts.host} is in use; ${fix}`);
  if (err.code === 'EACCES') return new UserError(`no permission to listen on ${opts.host}:${opts.port}; ${fix} above 1023`);
  if (err.code === 'EADDRNOTAVAIL') return new UserError(`--host ${opts.host}: not an address of this machine; use 127.0.0.1, or 0.0.0.0 for every interface`);
  // A name that does not resolve: ENOTFOUND, or EAI_AGAIN where no DNS server answers (offline).
  if (err.code === 'ENOTFOUND' || err.code?.startsWith('EAI_'))
    return new UserError(`--host ${opts.host}: no such host name or address; use 127.0.0.1, or 0.0.0.0 for every interface`);
  return err;
}

/** A --host that cannot be an address (the empty string would listen everywhere, as if none were given). */
export function checkHost(host: string): void {
  if (host.trim() === '') throw new UserError('--host is empty; pass an address: 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)', 2);
}

/** The wildcard addresses: the server listens on every interface. */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/**
 * The host of the URL to open here. A wildcard is no address to open: this machine's loopback is, and it is
 * also what a browser counts as a secure context (WebGPU, the weights cache and wasm threads need one).
 */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (isWildcard(host)) return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Starts the server; resolves once it listens, with the URL to open. */
export async function serve(opts: ServeOptions): Promise<RunningServer> {
  checkHost(opts.host);
  const files = opts.files ?? studioFiles();
  const server: Server = createServer((req, res) => {
    handle(req, res, opts, files).catch(() => (res.headersSent ? res.destroy() : send(res, 500, 'internal error')));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) => fail(listenError(err, opts)));
    server.listen(opts.port, opts.host, () => ok());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${urlHost(opts.host)}:${port}/`,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections(); // a browser's keep-alive connections would hold close() open
      }),
  };
}
