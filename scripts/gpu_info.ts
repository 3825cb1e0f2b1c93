/**
 * Which GPU backends this machine can run, for scripts/gpu-check.sh: the WebGPU adapter Dawn finds (a real
 * GPU, else the software one), and whether @tensorflow/tfjs-node-gpu (CUDA) loads. Prints one line per
 * backend and, last, the comma-separated list of usable ones (what the parity tests are then run on).
 *
 *   npx tsc -p . && node dist/scripts/gpu_info.js
 */
import { registerWebGPU, webgpuAdapterName } from '../src/backends/webgpu.js';

const usable: string[] = [];
if (await registerWebGPU(false)) {
  console.log(`webgpu: ${webgpuAdapterName} (a hardware adapter)`);
  usable.push('webgpu');
} else if (await registerWebGPU(true)) {
  console.log(
    `webgpu: no hardware adapter; only ${webgpuAdapterName} (software). On a GPU machine, Dawn needs Vulkan: the loader (Debian: libvulkan1) and the vendor's ICD (NVIDIA: part of the driver, /usr/share/vulkan/icd.d/nvidia_icd.json)`,
  );
  usable.push('webgpu');
} else {
  console.log('webgpu: no adapter (are the optional packages `webgpu` and `@tensorflow/tfjs-backend-webgpu` installed?)');
}
for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
  try {
    await import(pkg);
    console.log(`tensorflow: ${pkg} loads`);
    usable.push('tensorflow');
    break;
  } catch (err) {
    console.log(`tensorflow: ${pkg} does not load (${(err as Error).message.split('\n')[0]})`);
  }
}
console.log(usable.join(','));
