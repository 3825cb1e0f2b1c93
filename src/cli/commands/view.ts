import * as path from 'node:path';
import type { Command } from '../command.js';
import { intOption, MAX_TOP, MODEL_HELP, MODEL_OPTIONS, openModel, outputFile, parse, printJson } from '../common.js';
import { labelsOption } from '../labels.js';
import { DEFAULT_TEMPLATE } from '../../api/biomedclip.js';
import { UserError } from '../../errors.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { progressBar, type Progress } from '../../util/progress.js';
import { METHODS, type Method } from '../../inspect/explain.js';
import { DEFAULT_EXPLAIN_TOP, VIEW_METHODS, collectView } from '../../view/data.js';
import { buildPage } from '../../view/page.js';

export const command: Command = {
  usage: `Usage: biomedclip view IMAGE... [--text TEXT]... [--labels "a,b,c"] --out report.html [options]

Writes one self-contained HTML page (docs/viewer.md) that shows, for each image and text:
  - the 224 × 224 crop the model saw with its patch grid; hover or click a patch (or [CLS]) to see that
    query's attention over all patches for any layer and head, or the head mean;
  - a model view: every head's map in one grid (rows: layers, columns: heads), click to select;
  - a head view of each text (tokens twice, lines weighted by attention), after bertviz;
  - the explanation maps of \`biomedclip explain\` per image-text pair, with the tokens coloured by
    relevance, and the zero-shot scores when --labels are given;
  - the logit lens: each image block's [CLS] scored against the texts, per layer.
Keyboard: arrows move layer and head, m head mean, c [CLS], Esc unpin, [ ] previous/next image.
The page fetches nothing (data, script and style are inside; its Content-Security-Policy forbids any
request). Attention is stored as 8 bits per value with a scale per row, gzipped: a page of one full-size
image and one text is 2.7 to 6.4 MB (measured by test/view.test.ts; docs/viewer.md has the table). Its "download data" button saves one image's numbers as JSON in the contracts of
\`explain --json\`, \`lens --json\` and \`trace\`.

Options:
  --text TEXT        a text; repeatable (default: the prompts of --labels)
  --labels "a,b,c"   zero-shot labels: adds each image's scores (and, without --text, the texts);
                     CSV quoting for a label with a comma, repeats append (as classify)
  --template T       prompt template with {} for the labels (default "${DEFAULT_TEMPLATE}")
  --explain-top K    without --text: explain each image's K most probable labels (default
                     ${DEFAULT_EXPLAIN_TOP}; a note says so); the zero-shot scores still list every label
  --methods M,M      explanation methods per pair (default ${VIEW_METHODS.join(',')}; any of
                     ${METHODS.join(', ')}; see biomedclip explain --help)
  --out FILE.html    the page to write (atomically: no partial file on error)

${MODEL_HELP}

Output (--json): {"out", "bytes", "cost": [{"part", "bytes"}]}; otherwise one line per part.

Examples:
  biomedclip view assets/examples/squamous_cell_carcinoma_histopathology.jpeg --text "keratin pearls" \\
      --labels "squamous cell carcinoma,adenocarcinoma" --out slide.html
  biomedclip view a.png b.png --labels "pneumonia,normal chest x-ray" --out chest.html
  biomedclip view assets/examples/adenocarcinoma_histopathology.jpg --text "tumor cells" --demo --out demo.html`,

  async run(args) {
    const { values, positionals } = parse('view', args, {
      allowPositionals: true,
      options: {
        ...MODEL_OPTIONS,
        text: { type: 'string', multiple: true },
        labels: { type: 'string', multiple: true },
        template: { type: 'string' },
        methods: { type: 'string' },
        'explain-top': { type: 'string' },
        out: { type: 'string' },
      },
    });
    if (positionals.length === 0) throw new UserError('no images given; usage: biomedclip view IMAGE... --text TEXT --out report.html', 2);
    if (!values.out) throw new UserError('missing --out FILE.html: the page to write', 2);
    if (path.extname(values.out).toLowerCase() !== '.html') throw new UserError(`--out ${values.out}: expected an .html file name`, 2);
    outputFile('out', values.out, '.html');
    const labels = values.labels === undefined ? undefined : labelsOption(values.labels);
    if (!values.text?.length && !labels) throw new UserError('no text given; pass --text TEXT (repeatable) or --labels "a,b,c"', 2);
    // The page pairs maps with their image and text by name: each must be given once.
    const twice = [positionals, values.text ?? []].map((list) => list.find((x, i) => list.indexOf(x) !== i)).find((x) => x !== undefined);
    if (twice !== undefined) throw new UserError(`'${twice}' is given twice; give each image and text once`, 2);
    const methods = values.methods === undefined ? undefined : methodsOption(values.methods);
    if (values['explain-top'] !== undefined && values.text?.length)
      throw new UserError('--explain-top picks among the --labels prompts; with --text, the texts given are the ones explained: drop one of them', 2);
    const explainTop = intOption('explain-top', values['explain-top'], 1, MAX_TOP);
    const clip = await openModel(values);
    try {
      let bar: Progress | undefined; // created at the first step, when the number of steps is known
      const onProgress = values.quiet ? undefined : (done: number, total: number) => (bar ??= progressBar('view', total, 'steps')).update(done);
      const onNote = values.quiet ? undefined : (m: string) => console.error(`biomedclip: note: ${m}`);
      const view = await collectView(clip, {
        images: positionals,
        texts: values.text ?? [],
        labels,
        template: values.template,
        methods,
        explainTop,
        onProgress,
        onNote,
      }).finally(() => bar?.done());
      const page = buildPage(view);
      await writeFileAtomic(values.out, page.html);
      if (values.json) printJson({ ...(view.model.label ? { model: view.model.label } : {}), out: values.out, bytes: page.bytes, cost: page.cost });
      else {
        console.log(`wrote ${values.out} (${(page.bytes / 1e6).toFixed(2)} MB)`);
        for (const c of page.cost) console.log(`  ${(c.bytes / 1e6).toFixed(2).padStart(7)} MB  ${c.part}`);
      }
      return 0;
    } finally {
      clip.dispose();
    }
  },
};

/**
 * `--methods M,M`: each a method of `explain`, given once. An empty list or item is an error: filtering
 * them out let `--methods ""` write a page without a single explanation and without a word.
 */
function methodsOption(value: string): Method[] {
  const methods = value.split(',').map((m) => m.trim());
  if (methods.every((m) => m === ''))
    throw new UserError(`--methods ${JSON.stringify(value)}: no methods given; pass some of ${METHODS.join(', ')} (default ${VIEW_METHODS.join(',')})`, 2);
  const bad = methods.find((m) => !(METHODS as readonly string[]).includes(m));
  if (bad !== undefined)
    throw new UserError(
      `--methods ${JSON.stringify(value)}: ${bad === '' ? 'an empty item; remove the extra comma' : `unknown method '${bad}'`}; valid: ${METHODS.join(', ')}`,
      2,
    );
  const twice = methods.find((m, i) => methods.indexOf(m) !== i);
  if (twice !== undefined) throw new UserError(`--methods ${JSON.stringify(value)}: '${twice}' is given twice; give each method once`, 2);
  return methods as Method[];
}
