/**
 * Everything that can go wrong on the way from the hub, each ending in ONE line that says what to do:
 * a corrupted transfer (deleted, never cached), the pinned sha256, 401/404 with the hub's error codes, a
 * closed port, a server that is not a hub, a link that keeps dropping (partial file kept and resumed
 * later), 5xx retried, offline reuse of the cache, and unsafe revisions or endpoints.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { UserError } from '../src/errors.js';
import { downloadModel, type Converter, type DownloadModelOptions } from '../src/hub/download-model.js';
import { BIOMEDCLIP_REPO, BIOMEDCLIP_REVISION } from '../src/hub/pins.js';
import { FakeHub, fakeModelRepos, pseudoRandomBytes, sha256, type FakeModelFiles } from './support/fake-hub.js';

let home: string;
let hub: FakeHub;
let files: FakeModelFiles;
let converted: number;

const stubConverter: Converter = async (opts) => {
  converted++;
  return { tensors: 0, parameters: 0, dropped: [], sourceSha256: '', sha256: '', outFile: path.join(opts.outDir, 'model.safetensors'), dtype: 'f32', bytes: 0 };
};

const clipBlobs = () => path.join(home, 'hub', 'models--microsoft--BiomedCLIP-PubMedBERT_256-vit_base_patch16_224', 'blobs');

function run(extra: Partial<DownloadModelOptions> = {}) {
  return downloadModel({
    revision: 'main',
    endpoint: hub.endpoint,
    env: { HF_HOME: home },
    progress: false,
    convert: stubConverter,
    retryDelayMs: 1,
    ...extra,
  });
}

/** Asserts a UserError whose single line matches every pattern, and prints it (the logs show the wording). */
async function rejectsWith(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'one line');
    for (const p of patterns) assert.match(err.message, p);
    console.log(err.message);
    return true;
  });
}

async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'biomedclip-hub-err-'));
  files = fakeModelRepos({ checkpoint: pseudoRandomBytes(12000, 3) });
  hub = await FakeHub.start(files.repos);
  converted = 0;
});

afterEach(async () => {
  await hub.close();
  await rm(home, { recursive: true, force: true });
});

test('a corrupted transfer is detected, deleted, and never reaches the cache or the converter', async () => {
  hub.faults.corrupt = true;
  await rejectsWith(run(), /checksum mismatch/, /open_clip_pytorch_model\.bin/, /sha256/, /deleted/, /biomedclip download/);
  assert.deepEqual(
    (await readdir(clipBlobs())).filter((f) => f.startsWith(sha256(files.checkpoint))),
    [],
  );
  assert.equal(converted, 0);
  hub.faults.corrupt = false;
  const ok = await run();
  assert.equal(ok.files[2].source, 'downloaded', 'the next run starts from zero, not from the bad prefix');
});

test('the pinned sha256 of the default revision is enforced on top of the ETag', async () => {
  const repo = files.repos[BIOMEDCLIP_REPO];
  files.repos[BIOMEDCLIP_REPO] = { ...repo, commit: BIOMEDCLIP_REVISION, refs: {} };
  await rejectsWith(run({ revision: undefined }), /checksum mismatch/, /pinned default revision/, /52cc993c/);
});

test('401: a private or missing repo asks for HF_TOKEN; a refused token says so', async () => {
  hub.faults.requireToken = 'hf_right';
  await rejectsWith(run(), /401/, /HF_TOKEN/, /BiomedCLIP-PubMedBERT_256/);
  await rejectsWith(run({ env: { HF_HOME: home, HF_TOKEN: 'hf_wrong' } }), /401/, /token in HF_TOKEN was refused/);
  hub.faults.requireToken = undefined;
  for (const key of Object.keys(files.repos)) delete files.repos[key];
  await rejectsWith(run(), /401/, /private or does not exist/, /check the repo name/);
});

test('404: an unknown revision points at --revision, a missing file says which', async () => {
  await rejectsWith(run({ revision: 'no-such-branch' }), /404/, /revision 'no-such-branch' not found/, /--revision/);
  delete files.repos[BIOMEDCLIP_REPO].files['open_clip_config.json'];
  await rejectsWith(run(), /404/, /open_clip_config\.json does not exist/, /--revision/);
});

test('no network: a closed port names the host, the command to retry and --endpoint', async () => {
  const port = await closedPort();
  const endpoint = `http://127.0.0.1:${port}`;
  await rejectsWith(
    run({ endpoint, revision: undefined }),
    /cannot reach http:\/\/127\.0\.0\.1/,
    /ECONNREFUSED/,
    new RegExp(`\`biomedclip download --endpoint ${endpoint}\``),
    /--endpoint URL/,
  );
});

test('offline, a branch falls back to the snapshot its ref last pointed to', async () => {
  await run();
  const port = await closedPort();
  const notes: string[] = [];
  const again = await run({ endpoint: `http://127.0.0.1:${port}`, onNote: (m) => notes.push(m) });
  assert.deepEqual(
    again.files.map((f) => f.source),
    ['cached', 'cached', 'cached'],
  );
  assert.ok(notes.some((n) => /unreachable .*using the cached copy of 'main'/.test(n)));
});

test('a server that is not a hub (no X-Repo-Commit) is named as such', async () => {
  const server = http.createServer((_req, res) => res.end('hello'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await rejectsWith(run({ endpoint }), /does not answer like a Hugging Face hub/, /X-Repo-Commit/, /--endpoint/);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test('a link that keeps dropping gives up with the partial file kept; the next run resumes it', async () => {
  hub.faults.cut = { afterBytes: 0, times: 3 };
  await rejectsWith(run({ retries: 2 }), /download of .*open_clip_pytorch_model\.bin failed/, /kept and resumed next time/);
  hub.faults.cut = { afterBytes: 4000, times: 1 };
  await rejectsWith(run({ retries: 0 }), /failed/);
  const part = path.join(clipBlobs(), `${sha256(files.checkpoint)}.incomplete`);
  assert.equal((await stat(part)).size, 4000);
  const ok = await run();
  assert.equal(ok.files[2].source, 'resumed');
  assert.equal(hub.requests({ server: 'cdn', method: 'GET' }).at(-1)?.range, 'bytes=4000-');
});

test('5xx from the CDN is retried; a persistent 5xx ends in a retry-later line', async () => {
  hub.faults.cdnStatus = { status: 503, times: 2 };
  const ok = await run();
  assert.equal(ok.files[2].source, 'downloaded');
  hub.faults.cdnStatus = { status: 503, times: 10 };
  await rejectsWith(
    run({ revision: 'main', force: true, outDir: path.join(home, 'o'), retries: 1, env: { HF_HOME: path.join(home, 'h2') } }),
    /503/,
    /retry later/,
  );
});

test('an unusable cache folder is one line naming HF_HOME, not a stack trace', async () => {
  const blocker = path.join(home, 'a-file');
  await writeFile(blocker, '');
  await rejectsWith(run({ env: { HF_HOME: path.join(blocker, 'hf') } }), /cannot write the hub cache/, /ENOTDIR/, /HF_HOME/);
});

test('revisions that would escape the cache folder and non-http endpoints are refused up front', async () => {
  await rejectsWith(run({ revision: '../../etc' }), /invalid revision '\.\.\/\.\.\/etc'/, /--revision/);
  await rejectsWith(run({ endpoint: 'ftp://example.org' }), /--endpoint 'ftp:\/\/example\.org' must be an http/);
  await rejectsWith(run({ endpoint: 'not a url' }), /is not a URL/);
  assert.equal(hub.log.length, 0);
});
