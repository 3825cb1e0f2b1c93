/**
 * Driving the explorer in Chromium for test/explorer-browser.test.ts: `biomedclip serve` as a child
 * process, pages that record console errors and requests off their origin, the waits on the page's
 * body[data-*] states, keyboard focus by name, and the walk's source-pane check.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from '../helpers.js';

export const CHROMIUM = process.env.BIOMEDCLIP_CHROMIUM ?? '/usr/bin/chromium';

export interface Server {
  url: string;
  process: ChildProcess;
}

/** `biomedclip serve ARGS --port 0` in a child process; resolves with the URL it prints. */
export function startServe(...args: string[]): Promise<Server> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'biomedclip.js'), 'serve', ...args, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((ok, fail) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /^biomedclip explorer: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(out);
      if (m) ok({ url: m[1], process: child });
    });
    child.once('exit', (code) => fail(new Error(`serve exited with ${code} before printing its URL: ${out}${err}`)));
  });
}

export async function stopServe(s: Server | undefined): Promise<void> {
  if (!s || s.process.exitCode !== null) return;
  const exited = new Promise((ok) => s.process.once('exit', ok));
  s.process.kill('SIGTERM');
  await exited;
}

export function launch(args: string[]): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', ...args] });
}

export interface Opened {
  page: Page;
  /** Console errors and page errors, as they came. */
  errors: string[];
  /** Requests that left the page's own origin. */
  outside: string[];
}

/**
 * Opens `url` in `browser`, recording console errors, uncaught errors, and every request whose origin is
 * not the page's (blob: URLs carry their creator's origin; data: URLs are inline and fetch nothing).
 */
export async function open(browser: Browser, url: string): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, deviceScaleFactor: 1, acceptDownloads: true });
  const errors: string[] = [];
  const outside: string[] = [];
  const origin = new URL(url).origin;
  assert.match(origin, /^http:\/\/127\.0\.0\.1:\d+$/);
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console error: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.origin !== origin) outside.push(r.url());
  });
  await page.goto(url);
  return { page, errors, outside };
}

/** The rules every test ends with: nothing in the console, nothing sent elsewhere. */
export async function close(o: Opened): Promise<void> {
  await o.page.close();
  assert.deepEqual(o.errors, [], 'console errors');
  assert.deepEqual(o.outside, [], 'requests off the page origin');
}

export const dataset = (page: Page, key: string) => page.evaluate((k) => document.body.dataset[k], key);

export async function ready(page: Page): Promise<void> {
  await page.waitForFunction(() => document.body.dataset.model === 'ready' || document.body.dataset.error, null, { timeout: 60_000 });
  assert.equal(await dataset(page, 'error'), undefined, 'the model loads');
  await page.waitForSelector('#texts');
}

/** Waits until the scores are for `labels` (older results may still be on screen while typing). */
export async function resultFor(page: Page, labels: string[]): Promise<void> {
  await page.waitForFunction(
    (want) => {
      if (document.body.dataset.error) return true;
      const shown = [...document.querySelectorAll('table.scores td.label')].map((td) => td.textContent).sort();
      return document.body.dataset.result === 'ready' && JSON.stringify(shown) === JSON.stringify([...want].sort());
    },
    labels,
    { timeout: 120_000 },
  );
  assert.equal(await dataset(page, 'error'), undefined);
}

/** A short name for the focused element: `tag#id`, or its role and accessible name. */
export async function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement!;
    if (el.id) return `${el.tagName.toLowerCase()}#${el.id}`;
    return `${el.getAttribute('role') ?? el.tagName.toLowerCase()}:${el.getAttribute('aria-label') ?? el.textContent?.trim()}`;
  });
}

/** Presses Tab until the focused element is `name` (as `focused` names it), at most `limit` times; returns how many. */
export async function tabTo(page: Page, name: string, limit = 60): Promise<number> {
  for (let i = 0; i < limit; i++) {
    if ((await focused(page)) === name) return i;
    await page.keyboard.press('Tab');
  }
  assert.equal(await focused(page), name, `Tab reaches ${name} within ${limit} presses`);
  return limit;
}

/** The source lines each walk step may highlight, read from src/studio/walk.ts: file -> the strings it finds. */
export function walkSourceRefs(): Map<string, string[]> {
  const text = readFileSync(path.join(REPO_ROOT, 'src', 'studio', 'walk.ts'), 'utf8');
  const refs = new Map<string, string[]>();
  for (const m of text.matchAll(/source: \{ file: '([^']+)', find: '([^']+)' \}/g)) refs.set(m[1], [...(refs.get(m[1]) ?? []), m[2]]);
  assert.ok(refs.size >= 5, 'walk.ts names its source lines');
  return refs;
}

/** The current walk step's source pane: one highlighted line, a step's code, at the line number shown. */
export async function checkSource(page: Page, refs: Map<string, string[]>): Promise<string> {
  const title = (await page.locator('#walk-title').textContent())!;
  await page.waitForSelector('.walk-body figure.source');
  const caption = (await page.locator('.walk-body figure.source figcaption').textContent())!;
  const m = /^src\/(.+):(\d+)$/.exec(caption);
  assert.ok(m, `${title}: caption ${caption}`);
  const here = page.locator('.walk-body figure.source .line.here');
  assert.equal(await here.count(), 1, `${title}: one highlighted line`);
  const line = (await here.textContent())!.replace(/\n$/, '');
  assert.equal(line, readFileSync(path.join(REPO_ROOT, 'src', m[1]), 'utf8').split('\n')[Number(m[2]) - 1], `${title}: the line shown is src/${m[1]}:${m[2]}`);
  assert.ok(
    (refs.get(m[1]) ?? []).some((find) => line.includes(find)),
    `${title}: the highlighted line "${line}" is the step's code`,
  );
  return `${title} -> ${caption}`;
}
