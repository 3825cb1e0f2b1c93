/**
 * Reading the viewer page's embedded data back: the JSON object, and the binary blocks (base64 of gzip,
 * inflated by the browser's own DecompressionStream). Only main.ts calls this module: the sections draw
 * from what it returns (state.ts, `Viewer`), never from the page's elements, so another page can feed
 * them data it got some other way.
 */
import type { PackedAttention, PageData } from '../contract.js';
import { Attention } from './attention.js';

export function readPageData(): PageData {
  return JSON.parse(document.getElementById('view-data')!.textContent!) as PageData;
}

function base64Bytes(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.trim());
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** The element of block `id`; blocks after the script exist once the page is parsed. */
async function blockElement(id: string): Promise<HTMLElement> {
  if (!document.getElementById(id) && document.readyState === 'loading') {
    await new Promise((resolve) => document.addEventListener('DOMContentLoaded', resolve, { once: true }));
  }
  return document.getElementById(id)!;
}

/** The `bytes` bytes of block `id`: base64 → gzip → bytes, without any library. */
export async function readBlock(id: string, bytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const gz = base64Bytes((await blockElement(id)).textContent!);
  const reader = new Blob([gz]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
  const out = new Uint8Array(bytes); // the size is known: no growing buffers, no final copy
  let at = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    out.set(r.value, at);
    at += r.value.length;
  }
  if (at !== bytes) throw new Error(`block ${id}: ${at} bytes instead of ${bytes}`);
  return out;
}

export async function readAttention(packed: PackedAttention): Promise<Attention> {
  return new Attention(await readBlock(packed.block.id, packed.block.bytes), packed);
}

/** The colormap: 256 RGB entries. */
export function readLut(data: PageData): Uint8Array<ArrayBuffer> {
  return base64Bytes(data.colormap.lut);
}
