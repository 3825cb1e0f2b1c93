/**
 * The `webgpu` backend in Node: tfjs-backend-webgpu's kernels on Dawn, Chrome's WebGPU implementation,
 * through the `webgpu` npm package (Dawn's Node binding, its binary inside the package). Both packages are
 * optional dependencies, detected at run time.
 *
 * Adapters, in order:
 *   1. Dawn's default discovery (Vulkan on Linux, Metal on macOS, D3D12 on Windows): a real GPU.
 *   2. Only when asked for by name (`--backend webgpu`): Dawn's OpenGL ES path in WebGPU's 'compatibility'
 *      feature level, which finds Mesa's llvmpipe software rasterizer on a machine without a GPU (EGL
 *      with no display needs EGL_PLATFORM=surfaceless). Correct, far slower than wasm: for tests and CI.
 * tfjs-backend-webgpu registers itself only when `navigator.gpu` exists (browsers; Node 20 has no
 * `navigator`) and asks for a core-level adapter, so this file provides `navigator.gpu` and registers its
 * own factory with the adapter it found. Reads must be asynchronous (`await t.data()`): a synchronous
 * read needs an OffscreenCanvas, which Node lacks.
 */
import { existsSync, readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';

/** Optional dependencies, named through variables so that the build never needs them installed. */
const DAWN_PACKAGE = 'webgpu';
const TFJS_WEBGPU_PACKAGE = '@tensorflow/tfjs-backend-webgpu';

/** What the adapter is, for `bench` and `scripts/gpu-check.sh`: e.g. "llvmpipe (OpenGL ES 3.2 Mesa 22.3.6)". */
export let webgpuAdapterName: string | undefined;

/** A software rasterizer: fine for correctness, never picked by default. */
const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software/i;

interface Gpu {
  requestAdapter(options?: object): Promise<Adapter | null>;
}
interface Adapter {
  info: { vendor: string; device: string; description: string; isFallbackAdapter?: boolean };
  limits: Record<string, number>;
  features: Set<string>;
  requestDevice(descriptor: object): Promise<unknown>;
}

function describe(a: Adapter): string {
  const name = a.info.device || a.info.vendor || 'unknown adapter';
  return a.info.description ? `${name} (${a.info.description})` : name;
}

function isSoftware(a: Adapter): boolean {
  return a.info.isFallbackAdapter === true || SOFTWARE.test(`${a.info.device} ${a.info.description}`);
}

/**
 * Whether this machine shows a GPU device at all (Linux: a DRM render node, NVIDIA's device, WSL's dxg).
 * Without one, the default backend choice skips Dawn entirely: its Vulkan probe would only print a warning.
 */
function hasGpuDevice(): boolean {
  if (process.platform !== 'linux') return true;
  const dri = existsSync('/dev/dri') ? readdirSync('/dev/dri').some((f) => f.startsWith('renderD')) : false;
  return dri || existsSync('/dev/nvidia0') || existsSync('/dev/dxg');
}

/** The first usable adapter: a hardware one, else (if `allowSoftware`) llvmpipe through OpenGL ES. */
async function findAdapter(create: (flags: string[]) => Gpu, allowSoftware: boolean): Promise<{ gpu: Gpu; adapter: Adapter } | null> {
  const gpu = hasGpuDevice() ? create([]) : null;
  const adapter = gpu ? await gpu.requestAdapter({ powerPreference: 'high-performance' }) : null;
  if (gpu && adapter && !isSoftware(adapter)) return { gpu, adapter };
  if (!allowSoftware) return null;
  // EGL's default platform wants a display; surfaceless is the headless one Mesa provides.
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) process.env.EGL_PLATFORM ??= 'surfaceless';
  const gles = create(['backend=opengles']);
  const soft = await gles.requestAdapter({ featureLevel: 'compatibility' });
  return soft ? { gpu: gles, adapter: soft } : gpu && adapter ? { gpu, adapter } : null;
}

/** The limits tfjs-backend-webgpu's own factory raises to the adapter's maximum (its kernels need them). */
const RAISED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
];

/**
 * Registers 'webgpu' when the packages load and an adapter is found; returns false otherwise (nothing
 * registered). `allowSoftware`: accept the llvmpipe adapter (true when the user named the backend).
 */
export async function registerWebGPU(allowSoftware: boolean): Promise<boolean> {
  let dawn: { create: (flags: string[]) => Gpu; globals: object };
  let tfWebgpu: { WebGPUBackend: new (device: unknown, info?: unknown) => tf.KernelBackend };
  if (!allowSoftware && !hasGpuDevice()) return false; // the usual default case: no need to load Dawn
  try {
    dawn = (await import(DAWN_PACKAGE)) as typeof dawn;
  } catch {
    return false; // optional package not installed
  }
  const found = await findAdapter(dawn.create, allowSoftware);
  if (!found) return false;
  try {
    // Imported before navigator.gpu exists, so the package registers its kernels but not its own factory.
    tfWebgpu = (await import(TFJS_WEBGPU_PACKAGE)) as typeof tfWebgpu;
  } catch {
    return false;
  }
  Object.assign(globalThis, dawn.globals); // GPUBufferUsage, GPUMapMode, ...: the constants the kernels use
  const nav = ((globalThis as { navigator?: object }).navigator ??= {});
  Object.defineProperty(nav, 'gpu', { value: found.gpu, configurable: true });
  const { adapter } = found;
  webgpuAdapterName = describe(adapter);
  if (tf.findBackendFactory('webgpu') != null) tf.removeBackend('webgpu');
  tf.registerBackend(
    'webgpu',
    async () => {
      const requiredLimits = Object.fromEntries(RAISED_LIMITS.map((k) => [k, adapter.limits[k]]));
      const requiredFeatures = ['timestamp-query'].filter((f) => adapter.features.has(f));
      const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
      return new tfWebgpu.WebGPUBackend(device, adapter.info);
    },
    3,
  );
  return true;
}
