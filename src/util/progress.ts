/**
 * Progress on stderr for every long command (index, eval, sanity, view, explain of many images, convert,
 * download): items or bytes done, the rate, and the time left. It only draws on a terminal: in pipes, CI logs
 * and tests it is silent, so stdout stays clean JSON and logs stay short.
 */
export interface Progress {
  /** Sets the amount done so far (same unit as `total`). */
  update(done: number): void;
  /** Clears the bar's line (call before printing anything else on stderr, and at the end). */
  done(): void;
}

export const SILENT: Progress = { update() {}, done() {} };

/** `n` in `unit`: bytes as KB/MB/GB, anything else as a plain count. */
export function human(n: number, unit: string): string {
  if (unit !== 'B') return `${Math.round(n)}`;
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** Seconds as `42s`, `3m05s` or `1h02m`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * One line of the bar, without the carriage return: `label [####------]  40% 120/300 images, 2.1 images/s, 1m26s left`.
 * The rate is measured from the first update (not from the start), so a model load before the first item
 * does not make the rate look slower than it is.
 */
export function progressLine(label: string, done: number, total: number | undefined, unit: string, rate: number | undefined): string {
  const unitName = unit === 'B' ? '' : ` ${unit}`;
  const perSecond = unit === 'B' ? `${human(rate ?? 0, unit)}/s` : `${(rate ?? 0) < 10 ? (rate ?? 0).toFixed(1) : Math.round(rate ?? 0)} ${unit}/s`;
  const speed = rate !== undefined && rate > 0 ? `, ${perSecond}` : '';
  if (total === undefined || total <= 0) return `${label} ${human(done, unit)}${unitName}${speed}`;
  const width = 24;
  const frac = Math.min(1, done / total);
  const filled = Math.round(frac * width);
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
  const left = rate !== undefined && rate > 0 && done < total ? `, ${duration((total - done) / rate)} left` : '';
  return `${label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${human(done, unit)}/${human(total, unit)}${unitName}${speed}${left}`;
}

/**
 * @param label  what is progressing, e.g. "download open_clip_pytorch_model.bin"
 * @param total  the full amount, or undefined when unknown (then only the count is shown)
 * @param unit   'B' for bytes (shown as KB/MB/GB), anything else is a plain count named by it ('images')
 */
export function progressBar(label: string, total: number | undefined, unit = 'B', stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY || process.env.CI) return SILENT;
  let last = 0;
  let first: { t: number; done: number } | undefined;
  const columns = () => (stream.columns > 0 ? stream.columns - 1 : 119); // a pty may report 0 columns
  return {
    update(done: number) {
      const now = Date.now();
      if (now - last < 100 && done !== total) return; // at most 10 redraws a second
      last = now;
      first ??= { t: now, done };
      const seconds = (now - first.t) / 1000;
      const rate = seconds >= 0.5 ? (done - first.done) / seconds : undefined;
      const line = progressLine(label, done, total, unit, rate);
      // A narrow terminal loses the bar first (the figures say more), then whatever still does not fit.
      const fitted = line.length <= columns() ? line : line.replace(/ \[[#-]+\]/, '');
      stream.write(`\r\x1b[2K${fitted.slice(0, columns())}`);
    },
    done() {
      stream.write('\r\x1b[2K');
    },
  };
}
