/**
 * `biomedclip serve`: a small local HTTP server for the explorer (the model running in the page). It
 * serves three things and nothing else:
 *   /               the explorer's built files (studio/files.ts says where they are)
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
  if (urlPath === '/') return path.join(files.page, 'index.html');
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

/** `bytes=a-b`, `bytes=a-` or `bytes=-n` of a file of `size` bytes; undefined when unsatisfiable. */
export function parseRange(header: string, size: number): { start: number; end: number } | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  const start = m[1] === '' ? Math.max(0, size - Number(m[2])) : Number(m[1]);
  const end = m[1] === '' || m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start <= end && start < size ? { start, end } : undefined;
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
  if (req.headers.range !== undefined) {
    const range = parseRange(req.headers.range, stat.size);
    if (!range) return void send(res, 416, 'range not satisfiable', { 'Content-Range': `bytes */${stat.size}` });
    ({ start, end } = range);
    status = 206;
    headers['Content-Range'] = `bytes ${start}-${end}/${stat.size}`;
  }
  headers['Content-Length'] = end - start + 1;
  res.writeHead(status, headers);
  if (req.method === 'HEAD' || stat.size === 0) return void res.end();
  createReadStream(file, { start, end })
    .on('error', () => res.destroy())
    .pipe(res);
}

function send(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...BASE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', ...extra });
  res.end(`${text}\n`);
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: ServeOptions, files: StudioFiles): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'only GET and HEAD', { Allow: 'GET, HEAD' });
  const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
  if (urlPath === '/examples/index.json') {
    res.writeHead(200, { ...BASE_HEADERS, 'Content-Type': TYPES['.json'], 'Cache-Control': 'no-cache' });
    return void res.end(JSON.stringify(await exampleImages(files)));
  }
  const file = await resolve(urlPath, opts, files);
  if (file === undefined) return send(res, 404, 'not found');
  await sendFile(req, res, file);
}

/** Starts the server; resolves once it listens, with the URL to open. */
export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const files = opts.files ?? studioFiles();
  const server: Server = createServer((req, res) => {
    handle(req, res, opts, files).catch(() => (res.headersSent ? res.destroy() : send(res, 500, 'internal error')));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const fix = 'pass another --port, or --port 0 for any free one';
      if (err.code === 'EADDRINUSE') fail(new UserError(`port ${opts.port} on ${opts.host} is in use; ${fix}`));
      else if (err.code === 'EACCES') fail(new UserError(`no permission to listen on ${opts.host}:${opts.port}; ${fix} above 1023`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND')
        fail(new UserError(`--host ${opts.host}: no such address on this machine; use 127.0.0.1`));
      else fail(err);
    });
    server.listen(opts.port, opts.host, () => ok());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections(); // a browser's keep-alive connections would hold close() open
      }),
  };
}
