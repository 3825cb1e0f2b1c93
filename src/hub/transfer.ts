/**
 * Fetches one URL into a `.incomplete` file that survives interruptions, resuming with HTTP Range.
 *
 * The partial file is the resume state, exactly as huggingface_hub keeps `blobs/<etag>.incomplete`: its
 * length is the offset to ask for next (`Range: bytes=<length>-`), whether the previous attempt was a cut
 * connection a second ago or a process killed yesterday. Server answers to a Range request:
 * - 206 with `Content-Range: bytes <length>-…`: append;
 * - 200: the server ignored the Range (allowed by RFC 9110 §14.2), so the body is the whole file: truncate
 *   and write from byte 0, never append a whole file after a prefix;
 * - 416: the range starts at or past the end; if the partial file is already full size it is done,
 *   otherwise it is inconsistent with the server and starts over.
 * Cut connections, timeouts and 5xx answers are retried with exponential backoff. The loop is bounded: a
 * limited number of consecutive attempts that bring no new byte, and a hard cap on requests overall.
 */
import { promises as fs } from 'node:fs';
import { UserError } from '../errors.js';
import { progressBar, type Progress } from '../util/progress.js';
import { HttpStatusError } from './errors.js';
import { discard, header, isRedirect, NetworkError, request, resolveLocation, sameOrigin, type HttpResponse } from './http.js';
import { statusError } from './metadata.js';

export interface TransferOptions {
  /** Expected final size (from the hub's metadata), if known: a short body is a failed attempt. */
  size: number | undefined;
  /** Authorization header value and the only origin it may be sent to (the hub, never the CDN). */
  authorization: string | undefined;
  authOrigin: string;
  /** Consecutive attempts without progress before giving up (default 5). */
  retries?: number;
  /** First backoff delay in ms, doubled per failed attempt up to 8× (default 500). */
  retryDelayMs?: number;
  /** Idle-socket timeout in ms (default 30 000). */
  timeoutMs?: number;
  /** Progress bar label; the bar itself only draws on a terminal. */
  label: string;
  progress?: boolean;
  /** Called with a short line when an attempt fails and is retried. */
  onNote?: (message: string) => void;
}

export interface TransferResult {
  /** Bytes already on disk from an earlier run when this one started. */
  resumedFrom: number;
  /** Number of GET requests made (redirect hops not counted). */
  requests: number;
}

const MAX_REDIRECTS = 5;
const MAX_REQUESTS = 100;

/** Downloads `url` into `partPath` (created or resumed). Resolves when the file is complete. */
export async function transferToFile(url: string, partPath: string, opts: TransferOptions): Promise<TransferResult> {
  const retries = opts.retries ?? 5;
  const resumedFrom = await currentSize(partPath);
  const bar: Progress = opts.progress === false ? { update() {}, done() {} } : progressBar(opts.label, opts.size, 'B');
  let failures = 0;
  try {
    for (let requests = 1; requests <= MAX_REQUESTS; requests++) {
      const before = await currentSize(partPath);
      try {
        if (await attempt(url, partPath, before, opts, bar)) return { resumedFrom, requests };
      } catch (err) {
        if (!isRetryable(err)) throw err;
        const gained = (await currentSize(partPath)) > before;
        failures = gained ? 1 : failures + 1; // progress resets the count: a slow but moving link never gives up
        if (failures > retries) throw err;
        const delay = Math.min((opts.retryDelayMs ?? 500) * 2 ** (failures - 1), (opts.retryDelayMs ?? 500) * 8);
        opts.onNote?.(`${opts.label}: ${(err as Error).message}; retrying in ${delay} ms`);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    throw new NetworkError('ETOOMANYREQUESTS', url, `gave up after ${MAX_REQUESTS} requests`);
  } finally {
    bar.done();
  }
}

/** One GET (following redirects). Resolves true when the file is complete, false to go round again. */
async function attempt(url: string, partPath: string, offset: number, opts: TransferOptions, bar: Progress): Promise<boolean> {
  if (opts.size !== undefined && offset > opts.size) {
    await fs.truncate(partPath, 0); // longer than the file can be: not a prefix of it
    return false;
  }
  if (opts.size !== undefined && offset === opts.size) return true;
  const res = await getFollowingRedirects(url, offset, opts);
  if (res.status === 416) {
    discard(res);
    if (opts.size === undefined && offset > 0 && rangeTotal(res) === offset) return true;
    await fs.truncate(partPath, 0);
    return false;
  }
  if (res.status !== 200 && res.status !== 206) {
    throw isRedirect(res.status) ? new HttpStatusError(res.status, undefined, res.url, 'too many redirects') : await statusError(res);
  }
  const start = res.status === 206 ? rangeStart(res) : 0;
  if (start !== offset && start !== 0) {
    discard(res); // a range we did not ask for: start over rather than guess how it lines up
    await fs.truncate(partPath, 0);
    return false;
  }
  await writeBody(res, partPath, start, bar);
  const size = await currentSize(partPath);
  if (opts.size !== undefined && size < opts.size) {
    throw new NetworkError('ESHORT', res.url, `body ended at ${size} of ${opts.size} bytes`);
  }
  return true;
}

async function getFollowingRedirects(url: string, offset: number, opts: TransferOptions): Promise<HttpResponse> {
  let current = url;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = {};
    if (offset > 0) headers.range = `bytes=${offset}-`;
    // The token is for the hub only: a CDN URL is already signed, and a foreign host must never see it.
    if (opts.authorization !== undefined && new URL(current).origin === opts.authOrigin) headers.authorization = opts.authorization;
    const res = await request(current, { method: 'GET', headers, timeoutMs: opts.timeoutMs ?? 30_000 });
    const next = isRedirect(res.status) ? resolveLocation(res) : undefined;
    if (next === undefined || hop >= MAX_REDIRECTS) return res;
    discard(res);
    if (!sameOrigin(next, current)) opts.onNote?.(`${opts.label}: redirected to ${new URL(next).origin}`);
    current = next;
  }
}

/**
 * Streams the body to disk: appended at `start` (= current length) or, for a whole-file answer, from 0.
 * Each chunk is written before the next is read, so when the connection drops every byte received is
 * already in the partial file and the next attempt asks for exactly the rest.
 */
async function writeBody(res: HttpResponse, partPath: string, start: number, bar: Progress): Promise<void> {
  const expected = contentLength(res);
  let received = 0;
  const out = await openPart(partPath, start === 0 ? 'w' : 'a');
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      await writeChunk(out, chunk, partPath);
      received += chunk.length;
      bar.update(start + received);
    }
  } catch (err) {
    if (err instanceof UserError) throw err; // the disk, not the network: retrying cannot help
    throw new NetworkError((err as NodeJS.ErrnoException).code ?? 'ECONNRESET', res.url, `connection cut after ${received} bytes`);
  } finally {
    await out.close();
  }
  if (expected !== undefined && received < expected) {
    throw new NetworkError('ESHORT', res.url, `connection cut after ${received} of ${expected} bytes`);
  }
}

async function openPart(partPath: string, flags: 'w' | 'a'): Promise<fs.FileHandle> {
  try {
    return await fs.open(partPath, flags);
  } catch (err) {
    throw diskError(err, partPath);
  }
}

async function writeChunk(out: fs.FileHandle, chunk: Buffer, partPath: string): Promise<void> {
  try {
    await out.write(chunk);
  } catch (err) {
    throw diskError(err, partPath);
  }
}

/** A full disk or a read-only cache is the user's to fix: say where, and how to move the cache. */
function diskError(err: unknown, partPath: string): UserError {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  return new UserError(`cannot write ${partPath} (${code}): free some disk space or point HF_HOME (or HF_HUB_CACHE) at a writable disk, then rerun`);
}

function isRetryable(err: unknown): boolean {
  return err instanceof NetworkError || (err instanceof HttpStatusError && err.retryable);
}

async function currentSize(file: string): Promise<number> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return 0;
  }
}

function contentLength(res: HttpResponse): number | undefined {
  const value = header(res, 'content-length');
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** First byte of a 206 answer, from `Content-Range: bytes <first>-<last>/<total>`; -1 when unreadable. */
function rangeStart(res: HttpResponse): number {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header(res, 'content-range')?.trim() ?? '');
  return match === null ? -1 : Number(match[1]);
}

/** Total size from a 416 answer's `Content-Range: bytes * /<total>`. */
function rangeTotal(res: HttpResponse): number | undefined {
  const match = /^bytes \*\/(\d+)$/.exec(header(res, 'content-range')?.trim() ?? '');
  return match === null ? undefined : Number(match[1]);
}
