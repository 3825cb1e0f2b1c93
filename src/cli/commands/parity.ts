import type { Command } from '../command.js';
import { MODEL_HELP, MODEL_OPTIONS, openModel, readsNoImages, parse, printJson } from '../common.js';
import { UserError } from '../../errors.js';
import { TOLERANCES, formatDiffTable, type HookDiff, type ToleranceKind } from '../../parity/compare.js';
import { runParity, type ParityReport } from '../../parity/run.js';

export const command: Command = {
  usage: `Usage: biomedclip parity --reference REF.safetensors [--model DIR] [options]

Runs the model on the reference file's own inputs (inputs.pixel_values, inputs.input_ids) and compares
every tensor the reference holds: outputs.* and each hook (PyTorch module path, plus ".probs" for
attention probabilities). Per tensor: max |diff|, max relative error, cosine, tolerance, ok/FAIL, in
forward order. The FIRST failing hook is where the implementations diverge; later hooks inherit its error.
A hook in the reference that we do not produce, or with another shape, is a failure named in the table.

Reference files: scripts/export_reference.py (real open_clip + torch; see docs/parity.md),
scripts/reference/make_reference.py (independent PyTorch build, seeded weights), or \`biomedclip trace\`.

Tolerances, per hook kind as the modules declare it (biomedclip summary --json lists each hook's kind);
a value passes when |ours - reference| <= atol + rtol * |reference|:
${tolerancesText()}

Options:
  --reference FILE        the reference trace (golden layout safetensors); required
  --capture GLOB          compare only hooks matching GLOB ('*' matches anything); repeatable;
                          outputs.* are always compared
  --tolerance-scale X     multiply every tolerance by X (e.g. 10 on a backend with fused kernels)
${MODEL_HELP}

Exit status: 0 every tensor within tolerance, 1 any failure, 2 bad flags.

Examples:
  biomedclip parity --model test/fixtures/tiny --reference test/fixtures/tiny/golden.safetensors
  biomedclip parity --reference ref.safetensors --capture 'visual.*' --json
  biomedclip parity --model DIR --reference ref.safetensors --backend wasm --tolerance-scale 10`,

  async run(args) {
    const { values } = parse('parity', args, {
      options: {
        ...MODEL_OPTIONS,
        reference: { type: 'string' },
        capture: { type: 'string', multiple: true },
        'tolerance-scale': { type: 'string' },
      },
    });
    readsNoImages('parity', values);
    if (!values.reference) throw new UserError('missing --reference REF.safetensors; make one with scripts/export_reference.py (see docs/parity.md)', 2);
    const toleranceScale = parseScale(values['tolerance-scale']);
    const clip = await openModel(values);
    try {
      const report = await runParity(clip, values.reference, { capture: values.capture, toleranceScale });
      if (values.json) printJson(toJson(report));
      else console.log(formatReport(report));
      return report.pass ? 0 : 1;
    } finally {
      clip.dispose();
    }
  },
};

function tolerancesText(): string {
  const why: Record<ToleranceKind, string> = {
    probs: 'attention probabilities, in [0, 1]',
    scores: 'attention scores before the softmax',
    activation: 'every other hook and the features',
    logits: 'features times exp(logit_scale) = 100',
  };
  return (Object.keys(TOLERANCES) as ToleranceKind[])
    .map(
      (k) =>
        `  ${k.padEnd(10)}  atol ${TOLERANCES[k].atol.toExponential(0)}, rtol ${TOLERANCES[k].rtol === 0 ? '0' : TOLERANCES[k].rtol.toExponential(0)}  (${why[k]})`,
    )
    .join('\n');
}

function parseScale(value: string | undefined): number {
  if (value === undefined) return 1;
  const x = Number(value);
  if (!(x > 0) || !Number.isFinite(x)) throw new UserError(`--tolerance-scale ${value}: expected a positive number such as 10`, 2);
  return x;
}

/** NaN is not JSON: a comparison that could not be made is null, with its `problem` saying why. */
function rowJson(r: HookDiff) {
  const num = (x: number) => (Number.isFinite(x) ? x : null);
  return {
    name: r.name,
    kind: r.kind,
    shape: r.shape,
    maxAbs: num(r.maxAbs),
    maxRel: num(r.maxRel),
    cosine: num(r.cosine),
    atol: r.atol,
    rtol: r.rtol,
    pass: r.pass,
    problem: r.problem ?? null,
  };
}

function toJson(r: ParityReport) {
  return {
    pass: r.pass,
    reference: r.reference,
    referenceMetadata: r.referenceMetadata,
    model: r.model,
    backend: r.backend,
    compared: r.rows.length,
    failed: r.rows.filter((x) => !x.pass).length,
    firstFailure: r.firstFailure ? rowJson(r.firstFailure) : null,
    rows: r.rows.map(rowJson),
    oursOnly: r.oursOnly,
  };
}

function formatReport(r: ParityReport): string {
  const made = r.referenceMetadata.command ?? r.referenceMetadata.format ?? 'unknown tool';
  const torch = r.referenceMetadata.torch ? `, torch ${r.referenceMetadata.torch}` : '';
  const lines = [`reference: ${r.reference} (${made}${torch})`, `model: ${r.model} on ${r.backend}`, '', formatDiffTable(r.rows), ''];
  if (r.oursOnly.length > 0) lines.push(`note: ${r.oursOnly.length} hook(s) we produce are not in the reference (not compared)`);
  const failed = r.rows.filter((x) => !x.pass).length;
  if (r.firstFailure) {
    const f = r.firstFailure;
    const why = f.problem ?? `max |diff| ${f.maxAbs.toExponential(2)}, over atol ${f.atol.toExponential(0)} + rtol ${f.rtol} x |reference|`;
    lines.push(`FIRST DIVERGENCE: ${f.name} (${why})`);
    lines.push(`parity: FAIL, ${failed} of ${r.rows.length} tensors over tolerance or missing`);
  } else {
    lines.push(r.rows.length > 0 ? `parity: PASS, all ${r.rows.length} tensors within tolerance` : 'parity: FAIL, nothing to compare');
  }
  return lines.join('\n');
}
