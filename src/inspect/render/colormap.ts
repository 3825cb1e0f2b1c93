/**
 * viridis (van der Walt & Smith, matplotlib's default since 2.0; CC0): perceptually uniform, readable in
 * grayscale and by the common forms of colour blindness, unlike the jet/rainbow maps heatmap tools often
 * use, whose bright bands invent edges that are not in the data. 17 of matplotlib's 256 entries (every
 * 16th, and the last), linearly interpolated: between neighbours the table is nearly linear, so the
 * interpolation differs from the full table by less than one 8-bit level.
 */

/** [index in the 256-entry table, r, g, b] with channels in [0, 1]. */
const VIRIDIS: Array<[number, number, number, number]> = [
  [0, 0.267004, 0.004874, 0.329415],
  [16, 0.282327, 0.094955, 0.417331],
  [32, 0.278826, 0.17549, 0.483397],
  [48, 0.258965, 0.251537, 0.524736],
  [64, 0.229739, 0.322361, 0.545706],
  [80, 0.19943, 0.387607, 0.554642],
  [96, 0.172719, 0.448791, 0.557885],
  [112, 0.149039, 0.508051, 0.55725],
  [128, 0.127568, 0.566949, 0.550556],
  [144, 0.120638, 0.625828, 0.533488],
  [160, 0.157851, 0.683765, 0.501686],
  [176, 0.24607, 0.73891, 0.452024],
  [192, 0.369214, 0.788888, 0.382914],
  [208, 0.515992, 0.831158, 0.294279],
  [224, 0.678489, 0.863742, 0.189503],
  [240, 0.845561, 0.887322, 0.099702],
  [255, 0.993248, 0.906157, 0.143936],
];

/** t in [0, 1] (clamped) -> [r, g, b] bytes. */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * 255;
  let k = 0;
  while (k < VIRIDIS.length - 2 && VIRIDIS[k + 1][0] < x) k++;
  const [x0, ...c0] = VIRIDIS[k];
  const [x1, ...c1] = VIRIDIS[k + 1];
  const f = (x - x0) / (x1 - x0);
  return c0.map((c, i) => Math.round(255 * (c + f * (c1[i] - c)))) as [number, number, number];
}
