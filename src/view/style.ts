/**
 * The viewer page's style: system fonts only (the page fetches nothing), a quiet neutral frame so that
 * the only strong colours are the data's, and tabular figures wherever numbers line up.
 */
export const STYLE = `
:root {
  --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --paper: #ffffff; --ground: #f6f7f9;
  --accent: #1d4ed8; --accent-soft: #dbe4ff; --warn-bg: #fff7e6; --warn: #8a4b00;
  --sans: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  --mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
}
* { box-sizing: border-box; }
html { background: var(--ground); }
body { margin: 0; color: var(--ink); font: 14px/1.45 var(--sans); font-variant-numeric: tabular-nums; }
body.busy { cursor: progress; }
#app { max-width: 1180px; margin: 0 auto; padding: 24px 24px 48px; }
.loading { color: var(--muted); padding: 40px 0; }
h1 { font-size: 22px; font-weight: 650; letter-spacing: -0.01em; margin: 0; }
h2 { font-size: 16px; font-weight: 650; margin: 0; }
h3 { font-size: 13px; font-weight: 600; margin: 0 0 8px; color: var(--ink); }
.muted { color: var(--muted); }
.hint, .keys { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
.keys { margin-top: 10px; }
.page-head { margin-bottom: 18px; }
.page-head > p { margin: 4px 0 0; }
.title-row { display: flex; align-items: center; justify-content: space-between; gap: 16px; }
.warning { background: var(--warn-bg); color: var(--warn); border: 1px solid #f5d9a8; border-radius: 6px; padding: 6px 10px; margin: 10px 0 0; }
.button { font: inherit; font-size: 13px; color: var(--accent); background: var(--paper); border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; cursor: pointer; }
.button:hover { border-color: var(--accent); }
.panel { background: var(--paper); border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px 18px; margin: 0 0 16px; }
.panel.has-keys { box-shadow: 0 0 0 2px var(--accent-soft); }
.panel-head { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; margin-bottom: 12px; }
.panel-head p { margin: 0; font-size: 12.5px; }
.tower-body { display: flex; gap: 28px; flex-wrap: wrap; }
.figure { width: 448px; }
.main-canvas { display: block; border-radius: 4px; cursor: crosshair; outline: none; }
.caption { display: flex; align-items: center; gap: 8px; margin: 10px 0 6px; }
.query-name { font-weight: 600; }
.chip { font: inherit; font-size: 12px; margin-left: auto; border: 1px solid var(--line); background: var(--paper); border-radius: 999px; padding: 2px 10px; cursor: pointer; }
.chip:hover { border-color: var(--accent); color: var(--accent); }
.colorbar { display: grid; grid-template-columns: auto 1fr auto; align-items: center; gap: 6px; font-size: 11.5px; color: var(--muted); }
.colorbar-ramp { width: 100%; height: 10px; border-radius: 2px; image-rendering: auto; }
.colorbar-label { grid-column: 1 / -1; }
.bar-slot { margin: 4px 0; }
#cls-share { font-size: 12px; }
.controls { display: flex; gap: 16px; align-items: center; margin-top: 8px; font-size: 12px; color: var(--muted); }
.controls input[type=range] { width: 110px; vertical-align: middle; }
.side { flex: 1; min-width: 360px; }
.selectors { display: flex; flex-direction: column; gap: 2px; margin-bottom: 12px; }
.segmented { display: flex; align-items: center; gap: 10px; margin-bottom: 8px; }
.seg-label { width: 40px; font-size: 12px; color: var(--muted); }
.seg-buttons { display: flex; flex-wrap: wrap; gap: 3px; }
.seg { font: inherit; font-size: 12px; min-width: 28px; padding: 3px 6px; border: 1px solid var(--line); background: var(--paper); border-radius: 5px; cursor: pointer; color: var(--ink); }
.seg:hover { border-color: #9ca3af; }
.seg[aria-pressed=true] { background: var(--ink); border-color: var(--ink); color: #fff; }
.seg:focus { outline: none; }
.seg:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
kbd { margin-right: 2px; font: 11px var(--mono); border: 1px solid var(--line); border-bottom-width: 2px; border-radius: 4px; padding: 0 4px; background: var(--paper); color: var(--ink); }
.model-view { margin-top: 14px; }
.model-canvas { display: block; cursor: pointer; }
.head-views { display: flex; flex-wrap: wrap; gap: 14px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: var(--paper); margin: 0; }
.head-card figcaption { font-size: 13px; margin-bottom: 8px; max-width: 520px; }
.head-view .token { font: 12.5px var(--mono); fill: var(--ink); dominant-baseline: middle; }
.head-view .query-token { cursor: default; }
.head-view .query-token:hover { fill: var(--accent); font-weight: 600; }
.head-view .link { stroke: var(--accent); stroke-width: 2; }
.head-view .key-shade { fill: var(--accent); fill-opacity: 0.28; }
.explain-body { display: grid; grid-template-columns: repeat(auto-fill, minmax(540px, 1fr)); gap: 12px; }
.scores-card { grid-column: 1 / -1; }
.card-head { display: flex; justify-content: space-between; align-items: baseline; gap: 12px; margin-bottom: 10px; }
.pair-text { font-weight: 600; }
.logit { font-size: 12.5px; color: var(--muted); }
.maps { display: flex; flex-wrap: wrap; gap: 14px; margin-bottom: 6px; }
.map-figure { margin: 0; }
.map-figure canvas { display: block; border-radius: 4px; }
.map-figure figcaption { font-size: 12px; margin-top: 4px; }
.map-range { display: block; font-size: 11.5px; }
.token-row { display: grid; grid-template-columns: 74px 1fr; align-items: baseline; margin-top: 6px; }
.token-row-label { font-size: 12px; color: var(--muted); }
.tokens { display: flex; flex-wrap: wrap; gap: 3px; }
.tok { font: 12.5px var(--mono); padding: 1px 5px; border-radius: 4px; }
.tok-special { color: var(--muted); border: 1px dashed var(--line); }
.scores-card .score-row { display: grid; grid-template-columns: minmax(140px, 260px) 1fr 56px 90px; gap: 10px; align-items: center; font-size: 13px; margin: 3px 0; }
.score-bar { height: 8px; background: #eef0f3; border-radius: 4px; overflow: hidden; }
.score-fill { display: block; height: 100%; background: #9ca3af; }
.score-row.top .score-fill { background: var(--accent); }
.score-row.top .score-label { font-weight: 600; }
.score-value { text-align: right; }
.chart .gridline { stroke: #eef0f3; }
.chart .axis { font-size: 11px; fill: var(--muted); }
.chart .marker { stroke: var(--ink); stroke-dasharray: 3 3; stroke-opacity: 0.5; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: 12.5px; margin-top: 4px; }
.legend-item { display: inline-flex; align-items: center; gap: 6px; }
.swatch { width: 12px; height: 3px; border-radius: 2px; display: inline-block; }
.strip { display: flex; gap: 8px; flex-wrap: wrap; margin-top: 12px; }
.strip-item { font: inherit; font-size: 12px; display: grid; grid-template-columns: 56px auto; grid-template-rows: auto auto; column-gap: 8px; align-items: center; text-align: left; padding: 5px 10px 5px 5px; border: 1px solid var(--line); border-radius: 8px; background: var(--paper); cursor: pointer; }
.strip-item canvas { grid-row: 1 / 3; border-radius: 4px; }
.strip-item[aria-current=true] { border-color: var(--ink); box-shadow: 0 0 0 1px var(--ink); }
.strip-name { font-weight: 600; max-width: 200px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.page-foot { margin-top: 28px; font-size: 12.5px; }
.page-foot h2 { font-size: 14px; margin-bottom: 4px; }
.cost { border-collapse: collapse; margin: 8px 0; }
.cost td { padding: 3px 16px 3px 0; border-bottom: 1px solid var(--line); }
.cost .num { text-align: right; }
.cost .total td { font-weight: 600; border-bottom: 0; }
`;
