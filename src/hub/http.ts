/**
 * One HTTP request, nothing hidden: no automatic redirects, no decompression, no retries.
 *
 * Why `node:http`/`node:https` and not the built-in `fetch`: a download from the hub is a chain of
 * requests to different hosts (hub → CDN), and each hop needs decisions made here in plain sight: whether
 * the token may go to that host, whether a 3xx is the file's location or a renamed repo, whether a 200 to a
 * Range request means "start again". `fetch` follows redirects by itself unless told not to, decompresses
 * bodies (so Content-Length and Range offsets would stop meaning bytes on disk), and reports a cut
 * connection as a generic "terminated". With `node:http` each response is a byte stream whose end or
 * premature close we see exactly, and an idle socket gets a timeout instead of hanging forever.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The URL this response answers (after no redirects: the one requested). */
  url: string;
  /** The body as a byte stream; call `discard()` when it is not wanted, so the socket is freed. */
  body: IncomingMessage;
}

/** The connection failed (refused, DNS, reset, timeout) before or while the answer arrived. */
export class NetworkError extends Error {
  readonly code: string;
  readonly url: string;

  constructor(code: string, url: string, detail?: string) {
    super(`${code}${detail !== undefined && detail !== code ? ` (${detail})` : ''} for ${displayUrl(url)}`);
    this.name = 'NetworkError';
    this.code = code;
    this.url = url;
  }
}

export interface RequestOptions {
  method: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** Idle-socket timeout in ms: no byte for this long while connecting, waiting or reading fails it. */
  timeoutMs: number;
}

const USER_AGENT = `biomedclip-ts/0.1.0; node/${process.versions.node}`;

/** Sends one request and resolves once the status line and headers are in; the body is left unread. */
export function request(url: string, opts: RequestOptions): Promise<HttpResponse> {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = {
    'user-agent': USER_AGENT,
    // Raw bytes only: Range offsets and Content-Length must count the bytes that land on disk.
    'accept-encoding': 'identity',
    ...opts.headers,
  };
  return new Promise((resolve, reject) => {
    const req = client.request(target, { method: opts.method, headers }, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers, url, body: res });
    });
    req.setTimeout(opts.timeoutMs, () => req.destroy(new NetworkError('ETIMEDOUT', url, `no answer in ${opts.timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      reject(err instanceof NetworkError ? err : new NetworkError(err.code ?? 'ENETWORK', url, err.message));
    });
    req.end();
  });
}

/** Reads a small body to text (error pages), at most `limit` bytes, never throwing. */
export async function readSmallBody(res: HttpResponse, limit = 4096): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (size < limit) chunks.push(chunk.subarray(0, limit - size));
      size += chunk.length;
      if (size >= limit) break;
    }
  } catch {
    // a broken error body is not worth a second error; the status code says enough
  }
  discard(res);
  return Buffer.concat(chunks).toString('utf8');
}

/** Drops an unread body and its socket (a keep-alive socket with unread bytes cannot be reused anyway). */
export function discard(res: HttpResponse): void {
  res.body.resume();
  res.body.destroy();
}

/**
 * A URL fit for messages and logs: without its query string, which on a CDN URL is a signature that grants
 * access for a while (`?X-Amz-Signature=…`, `?Expires=…&Signature=…`), and without credentials.
 */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url;
  }
}

/** First value of a response header, as a string. */
export function header(res: HttpResponse, name: string): string | undefined {
  const value = res.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Same scheme, host and port: the only hosts that may see the hub token. */
export function sameOrigin(a: string, b: string): boolean {
  return new URL(a).origin === new URL(b).origin;
}

/** Resolves a Location header against the URL that sent it (Location may be relative, RFC 9110 §10.2.2). */
export function resolveLocation(res: HttpResponse): string | undefined {
  const location = header(res, 'location');
  return location === undefined ? undefined : new URL(location, res.url).toString();
}

export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}
