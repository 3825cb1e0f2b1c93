// `npm run lint`: ESLint's and typescript-eslint's recommended rules, plus house rules a reviewer would
// otherwise have to remember (README, "How we write code"). Formatting is Prettier's (`.prettierrc.json`);
// the import graph's rules are dependency-cruiser's (`.dependency-cruiser.cjs`).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/** Synchronous tensor reads: they block the page on WebGPU (and need an OffscreenCanvas Node lacks). */
const SYNC_READS = ['dataSync', 'arraySync', 'bufferSync'].map((property) => ({
  property,
  message: 'read tensors with `await t.data()` / `t.array()` in library code (it must run on WebGPU)',
}));

/** A string that spells part of a hook name: `visual.trunk…`, `….attn.probs`, `….resid_mid`, `text.transformer…`. */
const HOOK_NAME = String.raw`/\b(visual|text)\.[a-z*{]|\.(trunk|blocks|attn|mlp|encoder|layer|attention|self|resid_mid|probs|scores|context)\b/`;

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'weights/', 'test/fixtures/', '**/*.js', '!eslint.config.js', '!bin/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Library code reads tensors asynchronously only: a synchronous read blocks the page on WebGPU (and
    // needs an OffscreenCanvas that Node lacks), so a method that used one failed on that backend.
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      'no-restricted-properties': ['error', ...SYNC_READS],
    },
  },
  {
    // The model and its tools name no backend: what differs per backend is a policy (src/model/policy.ts)
    // that src/backends/policies.ts sets.
    files: ['src/model/**/*.ts', 'src/inspect/**/*.ts'],
    ignores: ['src/model/policy.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/backends/*'], message: 'the model names no backend: ask src/model/policy.ts' }] }],
      'no-restricted-properties': [
        'error',
        ...SYNC_READS,
        { object: 'tf', property: 'getBackend', message: 'the model names no backend: ask backendPolicy() (src/model/policy.ts)' },
      ],
    },
  },
  {
    // A hook name is written once, by the module that owns the point (src/model's module files); everything
    // else reads it from the module (`model.visual.trunk.blocks[l].attn.probs.name`) and tells the towers
    // apart by their objects. A retyped name drifts silently when a module is renamed; these catch one.
    files: ['src/inspect/**/*.ts', 'src/api/**/*.ts', 'src/model/{hooks,module,spec,summary,load,weights,head,policy,config,index}.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...['Literal', 'TemplateElement'].map((node) => ({
          selector: `:not(ImportDeclaration, ExportNamedDeclaration, ExportAllDeclaration) > ${node}[${node === 'Literal' ? 'value' : 'value.raw'}=${HOOK_NAME}]`,
          message: 'a hook name is read from the module that owns it (`blocks[l].attn.probs.name`), not retyped',
        })),
      ],
    },
  },
  {
    // The pure-JS image pipeline runs in a page too (issue 21): only preprocess.ts (file paths) and
    // decode-sharp.ts (sharp) may reach for Node. A Buffer or node: import elsewhere breaks the browser bundle.
    files: ['src/image/**/*.ts'],
    ignores: ['src/image/preprocess.ts', 'src/image/decode-sharp.ts'], // preprocess.browser.ts is its page twin
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['node:*', 'sharp', 'pngjs'], message: 'src/image outside preprocess.ts and decode-sharp.ts must bundle for a browser' }] },
      ],
      'no-restricted-globals': [
        'error',
        ...['Buffer', 'process', 'require', '__dirname', '__filename'].map((name) => ({ name, message: 'a Node global: this file must run in a browser too' })),
      ],
    },
  },
  {
    // The page code (the viewer's client, the explorer and its backend chooser) runs in the browser: ES
    // modules that esbuild bundles (scripts/build_client.ts), which refuses Node's modules there.
    files: ['src/**/client/**/*.ts'],
    languageOptions: { sourceType: 'module', globals: { ...globals.browser } },
  },
  {
    // The tokenizer and its tests match control characters on purpose (BERT's cleaning strips them).
    files: ['src/tokenizer/**/*.ts', 'test/**/*.ts'],
    rules: { 'no-control-regex': 'off' },
  },
  {
    // CommonJS on purpose: the wasm pthread worker runs Emscripten's script with Node's `require` (see the file).
    files: ['**/*.cts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Tests read oracles' JSON (Python's output), whose shape the assertions check.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
