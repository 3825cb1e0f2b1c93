/**
 * The exact hub commits `biomedclip download` fetches by default, and what it fetches from each.
 *
 * Why pin: the hub repos are mutable. `open_clip_pytorch_model.bin` was replaced once on the hub (see the
 * spec), so "main" today may not be the weights our reference numbers were computed with. A full 40-hex
 * commit hash names immutable content, and lets a second run skip the network entirely when the snapshot
 * is already cached (huggingface_hub takes the same shortcut).
 *
 * Where the hashes come from (public sources read with the project's search tool; each hash was found in
 * several unrelated projects that pin these repos):
 * - BiomedCLIP 9f341de24bfb00180f1b847274256e9b65a3a32e: huggingface_hub cache paths
 *   (`models--microsoft--BiomedCLIP-PubMedBERT_256-vit_base_patch16_224/snapshots/9f341de…`) and explicit
 *   `revision=` pins in several repositories; two of them also record the weights file at this commit as
 *   783,705,670 bytes with sha256 52cc993c…76be.
 * - BiomedBERT d673b8835373c6fa116d6d8006b33d48734e305d: cache snapshot paths and `revision=` pins of
 *   `microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract` in several repositories (it is also the commit a
 *   sentence-transformers model card records as its base model's revision).
 */
import { CONFIG_FILE, VOCAB_FILE } from '../model-files.js';

export interface HubFile {
  /** The repository, `org/name`. */
  repo: string;
  /** The file's path inside the repository. */
  file: string;
  /** The role of the file in the model directory ('checkpoint' | 'config' | 'vocab'). */
  role: 'checkpoint' | 'config' | 'vocab';
  /**
   * The sha256 the file must have at the default revision, checked on top of the hub's own ETag. It
   * guards the reference numbers: a mirror that serves other bytes for the pinned commit is refused.
   */
  pinnedSha256?: string;
  /** The byte size at the default revision, for the progress bar before the HEAD answer arrives. */
  pinnedSize?: number;
}

export const BIOMEDCLIP_REPO = 'microsoft/BiomedCLIP-PubMedBERT_256-vit_base_patch16_224';
export const BIOMEDBERT_REPO = 'microsoft/BiomedNLP-BiomedBERT-base-uncased-abstract';

/** Default revision of the BiomedCLIP repo (config + weights). */
export const BIOMEDCLIP_REVISION = '9f341de24bfb00180f1b847274256e9b65a3a32e';
/** Default revision of the BiomedBERT repo (the tokenizer's vocab.txt only). */
export const BIOMEDBERT_REVISION = 'd673b8835373c6fa116d6d8006b33d48734e305d';

export const BIOMEDCLIP_CHECKPOINT: HubFile = {
  repo: BIOMEDCLIP_REPO,
  file: 'open_clip_pytorch_model.bin',
  role: 'checkpoint',
  pinnedSha256: '52cc993c5c5ff962bd0c60931874bc001e7e9b41666a385530f4a036294576be',
  pinnedSize: 783_705_670,
};

export const BIOMEDCLIP_CONFIG: HubFile = { repo: BIOMEDCLIP_REPO, file: CONFIG_FILE, role: 'config' };

export const BIOMEDBERT_VOCAB: HubFile = { repo: BIOMEDBERT_REPO, file: VOCAB_FILE, role: 'vocab' };

/** A full git commit id: only these name immutable content (branches and tags move). */
export const COMMIT_HASH = /^[0-9a-f]{40}$/;
