/**
 * `biomedclip serve` without a browser: the server in this process (serve() on port 0 with the demo model)
 * answers the page, its assets, the model's files byte for byte, tfjs's wasm, the examples and the source
 * copies, each with its type and the cross-origin isolation headers, on every answer, errors included; the
 * weights answer range requests as RFC 9110 asks; paths that try to leave the served folders are 404, a
 * malformed encoding 400 (and the server lives on), other methods 405; a dropped download closes its file.
 * Then the command as a user runs it: one line on stdout, Ctrl-C/SIGTERM exit 0, one-line errors.
 * test/studio.test.ts checks `biomedclip studio`, the same layout as static files.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as http from 'node:http';
import * as path from 'node:path';
import { ensureDemoModel } from '../src/demo/demo-model.js';
import { serve, type RunningServer } from '../src/studio/serve.js';
import { studioFiles } from '../src/studio/files.js';
import { EXAMPLE_IMAGES, REPO_ROOT, cliInProcess, oneErrorLine } from './helpers.js';
import { assertIsolated, cliAsync, request, type CliRun } from './support/http.js';

let server: RunningServer;
let modelDir: string;
let weights: Buffer;
const get = (p: string, opts?: Parameters<typeof request>[2]) => request(server.url, p, opts);

before(async () => {
  modelDir = await ensureDemoModel();
  weights = readFileSync(path.join(modelDir, 'model.safetensors'));
  server = await serve({ modelDir, port: 0, host: '127.0.0.1' });
});

after(() => server?.close());

test('every route answers its file, byte for byte, with its type and the isolation headers', async () => {
  const page = studioFiles().page;
  const wasmDir = studioFiles().wasmDir;
  const cases: Array<[string, string, Buffer]> = [
    ['/', 'text/html; charset=utf-8', readFileSync(path.join(page, 'index.html'))],
    ['/index.html', 'text/html; charset=utf-8', readFileSync(path.join(page, 'index.html'))],
    ['/assets/explorer.js', 'text/javascript; charset=utf-8', readFileSync(path.join(page, 'explorer.js'))],
    ['/assets/explorer.css', 'text/css; charset=utf-8', readFileSync(path.join(page, 'explorer.css'))],
    ['/assets/style.css', 'text/css; charset=utf-8', readFileSync(path.join(page, 'style.css'))],
    ['/model/model.safetensors', 'application/octet-stream', weights],
    ['/model/vocab.txt', 'text/plain; charset=utf-8', readFileSync(path.join(modelDir, 'vocab.txt'))],
    ['/model/open_clip_config.json', 'application/json; charset=utf-8', readFileSync(path.join(modelDir, 'open_clip_config.json'))],
    ['/model/fingerprint.json', 'application/json; charset=utf-8', readFileSync(path.join(modelDir, 'fingerprint.json'))],
    ['/tfjs/tfjs-backend-wasm-simd.wasm', 'application/wasm', readFileSync(path.join(wasmDir, 'tfjs-backend-wasm-simd.wasm'))],
    ['/examples/adenocarcinoma_histopathology.jpg', 'image/jpeg', readFileSync(EXAMPLE_IMAGES.adenocarcinoma)],
    ['/examples/squamous_cell_carcinoma_histopathology.jpeg', 'image/jpeg', readFileSync(EXAMPLE_IMAGES.squamous)],
    ['/source/model/vision.ts', 'text/plain; charset=utf-8', readFileSync(path.join(REPO_ROOT, 'src', 'model', 'vision.ts'))],
    ['/source/tokenizer/wordpiece.ts?v=1', 'text/plain; charset=utf-8', readFileSync(path.join(REPO_ROOT, 'src', 'tokenizer', 'wordpiece.ts'))],
  ];
  for (const [url, type, bytes] of cases) {
    const r = await get(url);
    assert.equal(r.status, 200, url);
    assertIsolated(r, url);
    assert.equal(r.headers['content-type'], type, url);
    assert.equal(Number(r.headers['content-length']), bytes.length, url);
    assert.ok(r.body.equals(bytes), `${url}: the bytes of the file`);
  }
  assert.match(readFileSync(path.join(page, 'index.html'), 'utf8'), /<script type="module" src="assets\/explorer\.js">/);
});

test('/examples/index.json lists the two shipped examples', async () => {
  const r = await get('/examples/index.json');
  assert.equal(r.status, 200);
  assertIsolated(r, 'index.json');
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
  const names = [EXAMPLE_IMAGES.adenocarcinoma, EXAMPLE_IMAGES.squamous].map((f) => path.basename(f));
  assert.deepEqual(JSON.parse(r.body.toString()), names);
  assert.deepEqual(
    readdirSync(path.join(REPO_ROOT, 'assets', 'examples'))
      .filter((n) => /\.jpe?g$/.test(n))
      .sort(),
    names,
  );
});

test('range requests on the weights: 206 with Content-Range, 416 when unsatisfiable, whole file when not a byte range', async () => {
  const size = weights.length;
  const ranged: Array<[string, number, number]> = [
    ['bytes=0-99', 0, 99],
    ['bytes=-10', size - 10, size - 1],
    ['bytes=100-', 100, size - 1],
    [`bytes=${size - 1}-${size + 1000}`, size - 1, size - 1], // past the end: up to the end
    [`bytes=-${size + 5}`, 0, size - 1], // a suffix longer than the file: all of it
  ];
  for (const [range, start, end] of ranged) {
    const r = await get('/model/model.safetensors', { headers: { Range: range } });
    assert.equal(r.status, 206, range);
    assertIsolated(r, range);
    assert.equal(r.headers['content-range'], `bytes ${start}-${end}/${size}`, range);
    assert.equal(Number(r.headers['content-length']), end - start + 1, range);
    assert.ok(r.body.equals(weights.subarray(start, end + 1)), `${range}: the bytes of the file`);
  }
  for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0']) {
    const r = await get('/model/model.safetensors', { headers: { Range: range } });
    assert.equal(r.status, 416, range);
    assertIsolated(r, range);
    assert.equal(r.headers['content-range'], `bytes */${size}`, range);
  }
  // RFC 9110 §14.2: a unit the server does not know MUST be ignored, as may syntax it cannot read, and
  // several ranges may be answered whole: each is a plain 200 with the whole file, never a 416.
  for (const range of ['items=0-5', 'bytes=9-5', 'bytes=0-1,5-6', 'bytes=abc']) {
    const r = await get('/model/model.safetensors', { headers: { Range: range } });
    assert.equal(r.status, 200, range);
    assert.equal(r.headers['content-range'], undefined, range);
    assert.ok(r.body.equals(weights), `${range}: the whole file`);
  }
});

test('HEAD gives the headers and no body, ranged or not', async () => {
  const head = await get('/model/model.safetensors', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assertIsolated(head, 'HEAD');
  assert.equal(Number(head.headers['content-length']), weights.length);
  assert.equal(head.headers['accept-ranges'], 'bytes');
  assert.equal(head.body.length, 0);
  const ranged = await get('/model/model.safetensors', { method: 'HEAD', headers: { Range: 'bytes=0-99' } });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.headers['content-range'], `bytes 0-99/${weights.length}`);
  assert.equal(ranged.body.length, 0);
});

test('paths that leave the served folders are 404; a malformed encoding is 400 and the server lives on', async () => {
  const refused = [
    '/model/../package.json',
    '/model/%2e%2e%2fpackage.json',
    '/model/%2e%2e/package.json',
    '/model/..%2F..%2Fpackage.json',
    '/source/../../package.json',
    '/source/model/..%2f..%2fpackage.json',
    '/source/..%2f..%2fpackage.json/x.ts',
    '/source/model/%2e%2e%5c%2e%2e%5cpackage.json',
    '/assets/..%2Findex.html',
    '/assets/..%2F..%2F..%2Fpackage.json',
    '/examples/..%2f..%2fpackage.json',
    '/tfjs/..%2ftfjs-backend-wasm.js',
    '/model/vocab.txt%00',
    '/model/vocab.txt%00.png',
    '/source/model/vision.ts%00',
    '/assets/%00',
    '/model/package.json', // a name outside the model directory's fixed list
    '/model/tokenizer.json', // on the list, but this model has none
    '/model/model.safetensors/',
    '/source/model/vision.js',
    '/package.json',
    '//etc/passwd',
    '/assets/',
  ];
  for (const p of refused) {
    const r = await get(p);
    assert.equal(r.status, 404, p);
    assertIsolated(r, p);
    assert.ok(!r.body.toString().includes('"name": "biomedclip-ts"'), `${p}: no file from outside`);
  }
  for (const p of ['/%E0%A4%A', '/%', '/model/%zz', '/source/model/%C0%AF.ts']) {
    const r = await get(p);
    assert.equal(r.status, 400, `${p}: decodeURIComponent's URIError is the client's error, not a 500`);
    assertIsolated(r, p);
  }
  assert.equal((await get('/')).status, 200, 'the server still answers');
});

test('methods other than GET and HEAD: 405 with Allow', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
    const r = await get('/', { method });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.allow, 'GET, HEAD', method);
    assertIsolated(r, method);
  }
});

test('on loopback, a Host header naming another machine is 403 (DNS rebinding); the names of this machine pass', async () => {
  for (const host of ['evil.example', 'evil.example:8737', '127.0.0.1.evil.example']) {
    const r = await get('/model/model.safetensors', { headers: { Host: host } });
    assert.equal(r.status, 403, host);
    assertIsolated(r, host);
  }
  for (const host of ['127.0.0.1:1', 'localhost', 'LOCALHOST:8737', '[::1]:8737'])
    assert.equal((await get('/', { headers: { Host: host } })).status, 200, host);
});

test('a dropped download closes its file (no descriptor left open per reload)', { skip: !existsSync('/proc/self/fd') && 'needs /proc' }, async () => {
  const weightsFile = path.join(modelDir, 'model.safetensors');
  const open = () => readdirSync('/proc/self/fd').filter((fd) => readlinkSafe(`/proc/self/fd/${fd}`) === weightsFile).length;
  const url = new URL(server.url);
  for (let i = 0; i < 4; i++) {
    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: url.hostname, port: url.port, path: '/model/model.safetensors', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy(); // the browser gives up after the first chunk
          resolve();
        });
      });
      req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(err)));
    });
  }
  let left = open();
  for (let t = 0; t < 50 && left > 0; t++) {
    await new Promise((r) => setTimeout(r, 20));
    left = open();
  }
  assert.equal(left, 0, 'descriptors of the weights still open after 4 dropped downloads');
});

function readlinkSafe(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

test('serve() on 0.0.0.0 prints a loopback URL that answers (a wildcard is no address to open)', async () => {
  const wide = await serve({ modelDir, port: 0, host: '0.0.0.0' });
  try {
    assert.match(wide.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal((await request(wide.url, '/')).status, 200);
  } finally {
    await wide.close();
  }
  await assert.rejects(serve({ modelDir, port: 0, host: '' }), /--host is empty/);
});

/** The command in a child process: its first stdout line, then `signal`; resolves with the run. */
async function serveUntil(signal: NodeJS.Signals, ...args: string[]): Promise<CliRun & { line: string; answered: number }> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'biomedclip.js'), 'serve', '--demo', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (code, sig) => resolve([code, sig])));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0]);
    });
    child.on('close', () => reject(new Error(`serve exited before printing its URL: ${stderr}`)));
  });
  const answered = (await request(line.replace(/^.*?: /, ''), '/')).status;
  child.kill(signal);
  const [status, sig] = await closed;
  return { status, signal: sig, stdout, stderr, line, answered };
}

test('the command: one line with the URL on 127.0.0.1, serves, and SIGINT or SIGTERM stop it with exit 0', async () => {
  const [int, term, wide] = await Promise.all([serveUntil('SIGINT'), serveUntil('SIGTERM'), serveUntil('SIGINT', '--host', '0.0.0.0')]);
  for (const r of [int, term, wide]) {
    assert.match(r.line, /^biomedclip explorer: http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal(r.answered, 200);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `${r.line}\n`, 'exactly one line on stdout');
    assert.ok(!/error/.test(r.stderr), r.stderr);
  }
  assert.ok(!int.stderr.includes('note:'), 'no note on loopback');
  assert.match(wide.stderr, /^biomedclip: note: listening on every interface: .*WebGPU/m);
});

const oneLine = (r: CliRun, code: number, pattern: RegExp) => oneErrorLine(r as unknown as SpawnSyncReturns<string>, code, pattern);

/** The rule for bad input, on main() run in this process (no process start per case). */
async function oneLineInProcess(args: string[], code: number, pattern: RegExp): Promise<void> {
  const r = await cliInProcess(...args);
  assert.equal(r.code, code, r.errors.join('\n'));
  assert.equal(r.errors.length, 1, r.errors.join('\n'));
  assert.match(r.errors[0], pattern);
  assert.equal(r.out, '', 'nothing on stdout');
}

test('the command: bad flags are one line and exit 2; a failure to listen is one line and exit 1', async () => {
  const port = new URL(server.url).port;
  // As a user runs it (the exit status through bin/biomedclip.js), then the rest in this process.
  const [inUse, unknown] = await Promise.all([cliAsync('serve', '--demo', '--port', port), cliAsync('serve', '--demo', '--bogus')]);
  oneLine(inUse, 1, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use; pass another --port, or --port 0`));
  oneLine(unknown, 2, /unknown option '--bogus'; see `biomedclip serve --help`/);
  await oneLineInProcess(['serve', '--demo', '--port', '70000'], 2, /--port 70000: expected an integer from 0 to 65,535/);
  await oneLineInProcess(
    ['serve', '--demo', '--port', '0', '--host', '10.255.255.1'],
    1,
    /--host 10\.255\.255\.1: not an address of this machine; use 127\.0\.0\.1/,
  );
  await oneLineInProcess(['serve', '--demo', '--port', '0', '--host', 'no-such-host.invalid'], 1, /--host no-such-host\.invalid: no such host name or address/);
  await oneLineInProcess(['serve', '--demo', '--port', '0', '--host', ''], 2, /--host is empty/);
  await oneLineInProcess(['serve', '--model', '/nonexistent', '--port', '0'], 1, /--model \/nonexistent: no such directory/);
  await oneLineInProcess(['serve', '--demo', '--model', '/nonexistent'], 2, /--demo and --model \/nonexistent exclude each other/);
});

test('a model directory the page cannot use, or none at all: one line naming the fix', async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'biomedclip-serve-'));
  const home = process.env.HF_HOME;
  try {
    const noVocab = path.join(tmp, 'no-vocab');
    mkdirSync(noVocab);
    copyFileSync(path.join(modelDir, 'model.safetensors'), path.join(noVocab, 'model.safetensors'));
    await oneLineInProcess(
      ['serve', '--model', noVocab, '--port', '0'],
      1,
      /no-vocab has no vocab\.txt, which the page fetches; rebuild it with `biomedclip convert/,
    );
    await oneLineInProcess(['serve', '--model', path.join(noVocab, 'model.safetensors')], 1, /not a directory; pass the folder that holds model\.safetensors/);
    process.env.HF_HOME = path.join(tmp, 'empty-hf-home'); // where `download` would have put the model
    await oneLineInProcess(['serve', '--port', '0'], 1, /no model found: run `biomedclip download` first, or pass --model DIR \(or --demo/);
  } finally {
    if (home === undefined) delete process.env.HF_HOME;
    else process.env.HF_HOME = home;
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('`biomedclip help serve` and `serve --help` print the usage', async () => {
  const inProcess = await cliInProcess('serve', '--help');
  assert.equal(inProcess.code, 0);
  for (const r of [await cliAsync('help', 'serve'), { status: inProcess.code, stdout: `${inProcess.out}\n`, stderr: '' }]) {
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: biomedclip serve \[--model DIR \| --demo\] \[--port N\] \[--host H\]/);
    for (const flag of ['--model', '--demo', '--port', '--host']) assert.ok(r.stdout.includes(`  ${flag}`), flag);
    assert.equal(r.stderr, '');
  }
});
