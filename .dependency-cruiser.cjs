/**
 * The import graph's rules (`npm run lint`): the rooms of src/ in layers, each importing only from its own
 * layer or those below, and no cycles; and the applications never import the BiomedCLIP facade, only the
 * small interfaces they declare. The picture is in docs/architecture.md.
 */
const LAYERS = [
  // 0: what everything may use
  ['src/errors\\.ts', 'src/util/', 'src/host-tensor\\.ts', 'src/model-files\\.ts'],
  // 1: file formats and the inputs' own pipelines
  ['src/weights/', 'src/tokenizer/', 'src/image/', 'src/draw/'],
  // 2: the model, and the backends it runs on
  ['src/model/', 'src/backends/'],
  // 3: tools over one model: explanations, conversion, the hub, parity comparison, the demo model, and
  // embedding host batches (what both the facade and the pool's workers run)
  ['src/inspect/', 'src/convert/', 'src/hub/', 'src/parity/', 'src/demo/', 'src/embed/'],
  // 4: running it on inputs: batching, the worker pool, the facade
  ['src/parallel/', 'src/api/'],
  // 5: applications, each taking a narrow interface that the facade satisfies (never the facade itself)
  // (src/studio: the explorer, the model live in a web page, and its local server)
  ['src/eval/', 'src/retrieval/', 'src/view/', 'src/studio/'],
  // 6: entry points
  ['src/cli/', 'src/index\\.ts'],
];

const pathOf = (layers) => `^(${layers.flat().join('|')})`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'a cycle makes two files one concern', from: { path: '^src/' }, to: { circular: true } },
    {
      name: 'apps-take-narrow-interfaces',
      severity: 'error',
      comment:
        'eval, retrieval, view and parity take the small interface they call (IndexingModel, CachingModel, ViewSource, TracedModel...), ' +
        'which the BiomedCLIP class satisfies structurally, never the class itself: the facade is for users and the CLI, and a ' +
        'function that names only what it calls can be run on anything that has it (a test double, another model)',
      from: { path: '^src/(eval|retrieval|view|parity|studio)/' },
      to: { path: '^src/api/biomedclip\\.ts$' },
    },
    {
      name: 'the-page-needs-no-node',
      severity: 'error',
      comment:
        'code bundled for the web page (src/**/client/, and the node-free core it runs: api/core.ts) never imports the Node facade, ' +
        'the worker pool or the Node backends; file access reaches it only through the seam modules the bundler swaps (scripts/build_client.ts)',
      from: { path: '^src/(.+/client/|api/core\\.ts$)' },
      to: { path: '^src/(api/(biomedclip|runner)\\.ts|parallel/pool|parallel/worker|backends/(select|webgpu|wasm-threads))' },
    },
    {
      name: 'browser-code-imports-browser-code',
      severity: 'error',
      comment:
        'src/view/client runs in the page (bundled by scripts/build_client.ts): it imports its own modules and the page contract (types), never Node modules, packages or the Node side',
      from: { path: '^src/view/client/' },
      to: { pathNot: '^src/view/(client/|contract\\.ts$)' },
    },
    ...LAYERS.slice(0, -1).map((layer, i) => ({
      name: `layer-${i}-imports-up`,
      severity: 'error',
      comment: `layer ${i} (${layer.join(', ')}) may import only from layers 0-${i}`,
      from: { path: pathOf([layer]) },
      to: { path: pathOf(LAYERS.slice(i + 1)) },
    })),
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true, // type-only imports are arrows too
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
