import type { Command } from '../command.js';
import { intOption, MAX_TOP, MODEL_HELP, MODEL_OPTIONS, modelLabel, oneFormat, openModel, parse, printJson } from '../common.js';
import { labelsOption } from '../labels.js';
import { DEFAULT_TEMPLATE } from '../../api/biomedclip.js';
import { UserError } from '../../errors.js';
import { progressBar } from '../../util/progress.js';
import { TEMPLATE_SETS } from '../../api/templates.js';
import { templatesOption } from '../../eval/prompts.js';

export const command: Command = {
  usage: `Usage: biomedclip classify IMAGE... --labels "a,b,c" [--template T]... [options]

Scores each image against each label as open_clip does: both embeddings L2-normalized, logits =
exp(logit_scale) · cosine, probabilities = softmax over the labels. Each label is put into the template
("${DEFAULT_TEMPLATE}" by default); with several --template flags a label's text embedding is the mean of
its normalized template embeddings, renormalized (prompt ensembling). Prompts are embedded in batches of
at most 32 texts and 2,048 tokens and label embeddings streamed, so memory stays bounded for any number of
labels; a prompt longer than
the 256-token context is truncated, as open_clip does (with a note).

Options:
  --labels LIST      comma-separated labels (required), CSV-quoted where a label holds a comma:
                     'adenocarcinoma,"carcinoma, squamous cell"' is two labels ("" is a quote);
                     repeatable: each --labels adds its labels
  --template T       prompt template with {} for the label; repeatable
  --templates NAME|FILE
                     a named template set: ${Object.keys(TEMPLATE_SETS).join(', ')}
                     ('biomedclip' = the paper's "this is an image of {}" + "{} presented in image";
                     pcam ... rsna = the paper's per-dataset sets, see docs/eval.md), or a file
                     with one template per line, each with {} (# starts a comment), as eval reads it
  --top K            print only the K most probable labels per image (at most 100,000)
  --csv              CSV on stdout: file,rank,label,probability,logit
${MODEL_HELP}

Output (--json): [{"file","scores":[{"label","probability","logit"}]}], scores sorted by probability.

Examples:
  biomedclip classify assets/examples/adenocarcinoma_histopathology.jpg --model demo \\
      --labels "adenocarcinoma,squamous cell carcinoma,normal tissue" --json
  biomedclip classify assets/examples/*.jp*g --labels "adenocarcinoma,squamous cell carcinoma" \\
      --template "this is an image of {}" --template "{} presented in image"`,

  async run(args) {
    const { values, positionals } = parse('classify', args, {
      allowPositionals: true,
      options: {
        ...MODEL_OPTIONS,
        labels: { type: 'string', multiple: true },
        template: { type: 'string', multiple: true },
        top: { type: 'string' },
        templates: { type: 'string' },
        csv: { type: 'boolean', default: false },
      },
    });
    if (positionals.length === 0) throw new UserError('no images given; usage: biomedclip classify IMAGE... --labels "a,b"', 2);
    oneFormat(values, ['json', 'csv']);
    const labels = labelsOption(values.labels);
    const top = intOption('top', values.top, 1, MAX_TOP) ?? labels.length;
    // Read before the model loads: a bad --templates is a usage error, not a failure after the load.
    const templates = [...(values.templates ? templatesOption(values.templates).templates : []), ...(values.template ?? [])];
    const clip = await openModel(values);
    try {
      await clip.checkImages(positionals); // a bad last image fails before the first batch runs
      const bar = progressBar('classify', positionals.length, 'images');
      const scores = await clip.classify(positionals, labels, {
        templates: templates.length > 0 ? templates : undefined,
        onProgress: (done) => bar.update(done),
      });
      bar.done();
      const label = modelLabel(clip);
      const result = positionals.map((file, i) => ({ file, ...label.json, scores: scores[i].slice(0, top) }));
      if (values.json) printJson(result);
      else if (values.csv) {
        console.log(label.csv(['file', 'rank', 'label', 'probability', 'logit'], true));
        for (const r of result) r.scores.forEach((x, k) => console.log(label.csv([r.file, k + 1, x.label, x.probability, x.logit])));
      } else {
        label.tableHeader();
        for (const r of result) {
          console.log(r.file);
          for (const s of r.scores) console.log(`  ${(s.probability * 100).toFixed(2).padStart(6)}%  ${s.label}  (logit ${s.logit.toFixed(3)})`);
        }
      }
      return 0;
    } finally {
      clip.dispose();
    }
  },
};
