/**
 * The 14 × 14 patch map on the 224 × 224 crop grid, as PyTorch's
 * `F.interpolate(mode='bilinear', align_corners=False)` gives it. One implementation, in src/image/upsample.ts,
 * shared with the heatmap picture (a lower layer, so src/inspect can use it too): the map a grounding
 * measure scores is the map `explain --png` draws.
 */
export { upsampleBilinear } from '../../image/upsample.js';
