#!/usr/bin/env bash
# One command for a machine with a GPU: which adapter Dawn finds, parity on the GPU backends (the committed
# tiny model always; full size when Debian's torch is there to build the reference), then `npm run bench`
# for the GPU backends beside wasm (the tensorflow backend too when @tensorflow/tfjs-node-gpu is installed).
#
#   bash scripts/gpu-check.sh          # on the GPU machine, in a checkout after `npm ci`
#   bash scripts/gpu-check.sh --pack   # on a machine with the packages: writes .cache/gpu-pack (dist/ and
#                                      # only the package files these checks load, under 64 MiB) for a GPU
#                                      # machine that cannot reach the npm registry; run there as above
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${BIOMEDCLIP_PYTHON:-/usr/bin/python3}"
PACK=.cache/gpu-pack

if [[ "${1:-}" == --pack ]]; then
  npx tsc -p .
  rm -rf "$PACK" && mkdir -p "$PACK/node_modules"
  files=(
    @tensorflow/tfjs-core/package.json @tensorflow/tfjs-core/dist/tf-core.node.js
    @tensorflow/tfjs-backend-cpu/package.json @tensorflow/tfjs-backend-cpu/dist/tf-backend-cpu.node.js
    @tensorflow/tfjs-backend-wasm/package.json @tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js
    @tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm @tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm
    @tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm @tensorflow/tfjs-backend-wasm/wasm-out
    @tensorflow/tfjs-backend-webgpu/package.json @tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.node.js
    webgpu/package.json webgpu/index.js webgpu/dist/linux-x64 seedrandom jpeg-js pngjs
  )
  for f in "${files[@]}"; do
    mkdir -p "$PACK/node_modules/$(dirname "$f")"
    cp -r "node_modules/$f" "$PACK/node_modules/$f"
  done
  cp -r dist "$PACK/dist"
  echo "gpu-check: wrote $PACK ($(du -sh "$PACK" | cut -f1)); carry it with the checkout and run bash scripts/gpu-check.sh"
  exit 0
fi

# A GPU machine cut off from the npm registry runs on the pack (see --pack).
if [[ ! -e node_modules ]]; then
  if [[ ! -d "$PACK" ]]; then
    echo "gpu-check: error: no node_modules; run npm ci, or bash scripts/gpu-check.sh --pack where the packages are and bring $PACK along" >&2
    exit 1
  fi
  ln -s "$PACK/node_modules" node_modules
  [[ -e dist ]] || cp -r "$PACK/dist" dist # a copy: compiled code finds the repository from where it lies
fi
[[ -e dist ]] || npx tsc -p .

echo "== GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'nvidia-smi not found')"
info=$(node dist/scripts/gpu_info.js)
echo "$info"
backends=$(echo "$info" | tail -n 1)
if [[ -z "$backends" ]]; then
  echo "gpu-check: error: no GPU backend could start (see above)" >&2
  exit 1
fi

echo "== parity, tiny model, on $backends"
BIOMEDCLIP_TEST_BACKENDS="$backends" node --test dist/test/model-tiny.test.js

bench_args=(--backends "$backends,wasm")
if "$PYTHON" -c 'import torch' 2>/dev/null; then
  echo "== parity, full size, on $backends"
  BIOMEDCLIP_TEST_BACKENDS="$backends" node --test --test-name-pattern='full-size model matches' dist/test/model-full.test.js
else
  echo "== no torch at $PYTHON: full-size parity skipped; the bench runs a full-size random model made in JavaScript"
  model=$(mktemp -d)/model
  trap 'rm -rf "$(dirname "$model")"' EXIT
  node dist/scripts/make_demo_model.js --full "$model"
  bench_args+=(--model "$model" --no-torch)
fi

echo "== bench"
node dist/scripts/bench.js "${bench_args[@]}"
