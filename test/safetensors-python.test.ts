/**
 * Cross-check against an independent writer and reader: Python's struct + json (no safetensors package
 * exists here), following the format description byte for byte. Python writes a file our reader must
 * accept value for value; our writer's file must parse in Python with the offsets and values we meant.
 * And the committed f32 <-> f16 fixture (test/f16-torch.test.ts checks against it) is what this torch computes.
 */
// test tier: full (safetensors written by PyTorch: /usr/bin/python3 with torch)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXTURES, REPO_ROOT, TORCH_PYTHON } from './helpers.js';
import { SafetensorsFile, writeSafetensors } from '../src/weights/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'st-py-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function python(script: string, ...args: string[]): string {
  const r = spawnSync(TORCH_PYTHON, ['-c', script, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const WRITE = `
import json, struct, sys
f32 = [1.5, -2.25, 3.0e-39, float('inf')]
f16 = [0x3c00, 0x0001, 0xfc00, 0x7bff]           # 1, smallest subnormal, -inf, 65504 (raw bits)
bf16 = [0x3f80, 0xc049, 0x0001]                   # 1, -3.140625, f32 subnormal 2^-133
i64 = [-(2**62), 0, 511]
parts = [struct.pack('<4f', *f32), struct.pack('<4H', *f16), struct.pack('<3H', *bf16), struct.pack('<3q', *i64)]
names = [('w', 'F32', [2, 2]), ('h', 'F16', [4]), ('b', 'BF16', [3, 1]), ('ids', 'I64', [1, 3])]
header, off = {'__metadata__': {'format': 'pt', 'by': 'python'}}, 0
for (name, dtype, shape), blob in zip(names, parts):
    header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [off, off + len(blob)]}
    off += len(blob)
text = json.dumps(header).encode()
text += b' ' * (-len(text) % 8)
with open(sys.argv[1], 'wb') as fh:
    fh.write(struct.pack('<Q', len(text)) + text + b''.join(parts))
`;

const READ = `
import json, struct, sys
raw = open(sys.argv[1], 'rb').read()
n, = struct.unpack('<Q', raw[:8])
assert n % 8 == 0, 'header padded to 8'
header = json.loads(raw[8:8 + n].decode('utf-8'))
data = raw[8 + n:]
fmt = {'F32': 'f', 'F16': 'e', 'I64': 'q', 'I32': 'i'}
out = {'__metadata__': header.pop('__metadata__', {})}
for name, info in header.items():
    b, e = info['data_offsets']
    count = 1
    for d in info['shape']: count *= d
    out[name] = {'shape': info['shape'], 'values': list(struct.unpack('<%d%s' % (count, fmt[info['dtype']]), data[b:e]))}
assert max(i['data_offsets'][1] for i in header.values()) == len(data)
print(json.dumps(out))
`;

test('reads a file written by Python struct+json', async () => {
  const file = path.join(dir, 'py.safetensors');
  python(WRITE, file);
  const st = await SafetensorsFile.open(file);
  assert.deepEqual(st.metadata, { format: 'pt', by: 'python' });
  assert.deepEqual([...st.tensors.keys()], ['w', 'h', 'b', 'ids']);
  assert.deepEqual(st.tensors.get('b')!.shape, [3, 1]);
  assert.deepEqual(await st.readFloat32('w'), new Float32Array([1.5, -2.25, 3.0e-39, Infinity]));
  assert.deepEqual(await st.readFloat32('h'), new Float32Array([1, 2 ** -24, -Infinity, 65504]));
  assert.deepEqual(await st.readFloat32('b'), new Float32Array([1, -3.140625, 2 ** -133]));
  const ids = await st.readRaw('ids');
  assert.deepEqual([...new BigInt64Array(ids.buffer)], [-(2n ** 62n), 0n, 511n]);
  await st.close();
});

test('Python reads our file with the same offsets and values', async () => {
  const file = path.join(dir, 'ts.safetensors');
  await writeSafetensors(
    file,
    [
      { name: 'half', dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) },
      { name: 'x', dtype: 'F32', shape: [1, 3], data: new Float32Array([0.5, -1, 1e-40]) },
      { name: 'n', dtype: 'I64', shape: [2], data: new BigInt64Array([7n, -3n]) },
    ],
    { source: 'ts' },
  );
  const parsed = JSON.parse(python(READ, file)) as Record<string, { shape: number[]; values: number[] }>;
  assert.deepEqual(parsed.__metadata__, { source: 'ts' });
  assert.deepEqual(parsed.x, { shape: [1, 3], values: [0.5, -1, Math.fround(1e-40)] });
  assert.deepEqual(parsed.half, { shape: [2], values: [1, -2] });
  assert.deepEqual(parsed.n, { shape: [2], values: [7, -3] });
});

test("the committed f32 <-> f16 fixture is this torch's own output (scripts/make_f16_fixture.py)", () => {
  const out = path.join(dir, 'torch-half.json');
  const r = spawnSync(TORCH_PYTHON, [path.join(REPO_ROOT, 'scripts', 'make_f16_fixture.py'), '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const fresh = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
  const committed = JSON.parse(readFileSync(path.join(FIXTURES, 'f16', 'torch-half.json'), 'utf8')) as Record<string, unknown>;
  delete fresh.made_by; // names the torch version; the bits are what must agree
  delete committed.made_by;
  assert.deepEqual(fresh, committed);
});
