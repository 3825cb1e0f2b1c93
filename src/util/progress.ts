/**
 * A progress bar on stderr that only draws on a terminal: in pipes, CI logs and tests it is silent, so
 * stdout stays clean JSON and logs stay short. One shared implementation for convert, download and index.
 */
export interface Progress {
  /** Sets the amount done so far (same unit as `total`). */
  update(done: number): void;
  /** Clears the bar's line. */
  done(): void;
}

const SILENT: Progress = { update() {}, done() {} };

function human(n: number, unit: string): string {
  if (unit !== 'B') return `${n}`;
  const units = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/**
 * @param label  what is progressing, e.g. "download open_clip_pytorch_model.bin"
 * @param total  the full amount, or undefined when unknown (then only the count is shown)
 * @param unit   'B' for bytes (shown as KB/MB/GB), anything else is shown as a plain count
 */
export function progressBar(label: string, total: number | undefined, unit = 'B', stream = process.stderr): Progress {
  if (!stream.isTTY || process.env.CI) return SILENT;
  let last = 0;
  const draw = (done: number) => {
    const width = 30;
    if (total !== undefined && total > 0) {
      const frac = Math.min(1, done / total);
      const filled = Math.round(frac * width);
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
      stream.write(`\r${label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${human(done, unit)}/${human(total, unit)}`);
    } else {
      stream.write(`\r${label} ${human(done, unit)}`);
    }
  };
  return {
    update(done: number) {
      const now = Date.now();
      if (now - last < 100 && done !== total) return; // at most 10 redraws a second
      last = now;
      draw(done);
    },
    done() {
      stream.write('\r\x1b[2K');
    },
  };
}
