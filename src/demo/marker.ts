/**
 * How the demo model is told apart from BiomedCLIP wherever its results may go, Node or page: a marker in
 * its open_clip_config.json, a warning, and the label results carry. (demo-model.ts makes the model.)
 */

/** Marker in the demo's open_clip_config.json; the loader, the CLI and the page look for it. */
export const DEMO_MARKER = 'biomedclip_ts_demo';
export const DEMO_WARNING = 'demo model with random weights: scores are meaningless; run `biomedclip download` for BiomedCLIP';
/** How results name the demo's weights wherever they go (JSON, CSV, tables, trace files, the page's download). */
export const DEMO_LABEL = 'demo (random weights: meaningless)';

/** True when a parsed open_clip_config.json is the demo model's. */
export function isDemoConfig(json: unknown): boolean {
  return typeof json === 'object' && json !== null && (json as Record<string, unknown>)[DEMO_MARKER] === true;
}
