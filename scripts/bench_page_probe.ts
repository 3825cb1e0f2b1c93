/**
 * What `npm run bench:page` reads from the explorer page, without code of its own in the page: a script
 * injected before the page's own (PROBE) timestamps every change of the body's data-model, data-result and
 * data-tab attributes (the hooks the page sets for tests) and the next frame after each, times Cache Storage's put and match (the page
 * keeps the weights there), samples the JS heap (performance.memory, Chromium only) and keeps the longest
 * main-thread task. The weights' download is read from Resource Timing. The renderer's peak resident memory
 * comes from /proc (VmHWM), which counts what the JS heap does not: the wasm heap and ArrayBuffers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

/** Runs in the page before its scripts; everything it learns goes to window.__bench. */
export const PROBE = `(() => {
  const b = (window.__bench = { marks: [], heapMax: 0, longestTask: 0, cacheErrors: [] });
  performance.setResourceTimingBufferSize(1000);
  const watched = ['data-model', 'data-result', 'data-tab', 'data-error'];
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.target !== document.body) continue;
      const mark = r.attributeName.slice(5) + '=' + document.body.getAttribute(r.attributeName);
      b.marks.push([mark, performance.now()]);
      // The next frame: when what the page just drew can be on screen (a long task delays it).
      requestAnimationFrame(() => b.marks.push([mark + ' painted', performance.now()]));
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: watched });
  if (typeof Cache !== 'undefined')
    for (const name of ['put', 'match']) {
      const original = Cache.prototype[name];
      Cache.prototype[name] = function (...args) {
        const t0 = performance.now();
        return original.apply(this, args).then(
          (r) => (b.marks.push(['cache.' + name, t0, performance.now()]), r),
          (e) => { b.cacheErrors.push(name + ': ' + (e && e.name) + ': ' + (e && e.message)); throw e; },
        );
      };
    }
  const heap = () => { if (performance.memory) b.heapMax = Math.max(b.heapMax, performance.memory.usedJSHeapSize); };
  setInterval(heap, 200);
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) b.longestTask = Math.max(b.longestTask, e.duration); })
      .observe({ type: 'longtask', buffered: true });
  } catch {}
})();`;

/** [name, t] or, for the cache's calls, [name, start, end]; milliseconds since navigation. */
export type Mark = [string, number, number?];

export interface PageState {
  marks: Mark[];
  heapMax: number;
  longestTask: number;
  /** Cache Storage calls that failed (the page goes on without its cache), with the browser's reason. */
  cacheErrors: string[];
  timing: { readyMs?: number; scoresMs?: number };
  /** The weights' Resource Timing entry of this document, when they came from the network. */
  weights?: { start: number; end: number; bytes: number };
  status: string;
  error?: string;
}

export async function pageState(page: Page): Promise<PageState> {
  const json = await page.evaluate(`(() => {
    const b = window.__bench;
    const w = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/model.safetensors')).pop();
    if (b && performance.memory) b.heapMax = Math.max(b.heapMax, performance.memory.usedJSHeapSize);
    return JSON.stringify({
      marks: b ? b.marks : [],
      heapMax: b ? b.heapMax : 0,
      longestTask: b ? b.longestTask : 0,
      cacheErrors: b ? b.cacheErrors : [],
      timing: window.explorerTiming || {},
      weights: w ? { start: w.startTime, end: w.responseEnd, bytes: w.encodedBodySize } : undefined,
      status: document.querySelector('[role=status]')?.textContent || '',
      error: document.body.dataset.error,
    });
  })()`);
  return JSON.parse(json as string) as PageState;
}

/** How many marks named `name` the page has set so far. */
export async function markCount(page: Page, name: string): Promise<number> {
  return (await pageState(page)).marks.filter((m) => m[0] === name).length;
}

/**
 * Waits until the page has set the `count`th mark named `name` (e.g. 'result=ready'); returns false when
 * `timeoutMs` passed first. A page error ends the wait with the page's own message.
 */
export async function waitForMark(page: Page, name: string, count: number, timeoutMs: number): Promise<boolean> {
  // Polled from here: the page's CSP forbids eval, which waitForFunction's string predicates need.
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await pageState(page);
    if (s.error) throw new Error(`the page reports: ${s.error}`);
    if (s.marks.filter((m) => m[0] === name).length >= count) return true;
    if (Date.now() > end) return false;
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

/** The time of the `index`th (0-based) mark named `name`; the end time for the cache's calls. */
export function markTime(state: PageState, name: string, index = -1): number | undefined {
  const all = state.marks.filter((m) => m[0] === name);
  const m = all.at(index);
  return m === undefined ? undefined : (m[2] ?? m[1]);
}

/** The cache call `name`'s duration, its last one. */
export function cacheCallMs(state: PageState, name: 'cache.put' | 'cache.match'): number | undefined {
  const m = state.marks.filter((x) => x[0] === name).at(-1);
  return m === undefined ? undefined : m[2]! - m[1];
}

/** A /proc file's text, or '' when the process has gone meanwhile. */
function readProc(pid: string, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

function parentPid(pid: string): string | undefined {
  // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
  const stat = readProc(pid, 'stat');
  return stat === '' ? undefined : stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
}

function cmdline(pid: string): string {
  return readProc(pid, 'cmdline').replace(/\0/g, ' ');
}

/**
 * The largest peak resident set (VmHWM) among the renderer processes of the Chromium whose browser
 * process was started with `--user-data-dir=<profile>`; undefined where /proc is not Linux's.
 */
export function rendererPeakBytes(profile: string): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return undefined;
  }
  const root = pids.find((p) => cmdline(p).includes(`--user-data-dir=${profile}`) && !cmdline(p).includes('--type='));
  if (root === undefined) return undefined;
  const isDescendant = (pid: string): boolean => {
    for (let p: string | undefined = parentPid(pid), hops = 0; p !== undefined && p !== '0' && hops < 10; p = parentPid(p), hops++) if (p === root) return true;
    return false;
  };
  let peak: number | undefined;
  for (const pid of pids) {
    if (!cmdline(pid).includes('--type=renderer') || !isDescendant(pid)) continue;
    const kb = /VmHWM:\s+(\d+) kB/.exec(readProc(pid, 'status'))?.[1];
    if (kb !== undefined) peak = Math.max(peak ?? 0, Number(kb) * 1024);
  }
  return peak;
}
