/**
 * Raw HTTP for the explorer's server tests. node:http sends the path exactly as written: fetch() would
 * resolve `/model/../package.json` before sending it, and the tests must see what the server does with
 * the raw request a hostile client can send.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { REPO_ROOT } from '../helpers.js';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request to `base` (a URL such as http://127.0.0.1:PORT/), its path sent untouched; no keep-alive. */
export function request(base: string, rawPath: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path: rawPath, method: opts.method ?? 'GET', headers: opts.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The headers every answer carries, whatever its status: cross-origin isolation and no type sniffing. */
export function assertIsolated(r: Reply, what: string): void {
  assert.equal(r.headers['cross-origin-opener-policy'], 'same-origin', what);
  assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp', what);
  assert.equal(r.headers['cross-origin-resource-policy'], 'same-origin', what);
  assert.equal(r.headers['x-content-type-options'], 'nosniff', what);
}

export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `biomedclip ARGS` in a child process, without blocking this one (a test's own server keeps answering). */
export function cliAsync(...args: string[]): Promise<CliRun> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'biomedclip.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
}
