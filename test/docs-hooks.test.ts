/** docs/hooks.md is the table the modules' declarations give: regenerate it with `npm run docs:hooks`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { HOOKS_DOC, hooksMarkdown } from '../scripts/docs_hooks.js';

test('docs/hooks.md lists exactly the declared hook points (npm run docs:hooks regenerates it)', () => {
  const page = readFileSync(HOOKS_DOC, 'utf8');
  assert.equal(page, hooksMarkdown(), 'docs/hooks.md is stale: run `npm run docs:hooks`');
  assert.match(page, /\| `visual\.trunk\.blocks\.N\.attn\.scores` \| \[B, 12, 197, 197\] \| scores \|/);
  assert.match(page, /\| `text\.transformer\.encoder\.layer\.N\.attention\.self\.context` \| \[B, 12, T, 64\] \| activation \|/);
});
