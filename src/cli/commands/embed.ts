import type { Command } from '../command.js';
import { MODEL_HELP, MODEL_OPTIONS, modelLabel, oneFormat, openModel, padToOption, parse, printJson } from '../common.js';
import { UserError } from '../../errors.js';
import { progressBar } from '../../util/progress.js';

export const command: Command = {
  usage: `Usage: biomedclip embed [--image FILE]... [--text TEXT]... [options]

Embeds each image and text. "features" is the unnormalized encode_image / encode_text output (what
open_clip returns with normalize=False); "embedding" is its L2-normalized form, whose dot products are
cosine similarities.

Options:
  --image FILE       an image file (PNG, JPEG, BMP, GIF, TIFF, WebP); repeatable
  --text TEXT        a text; repeatable
  --csv              CSV on stdout: kind,source,e0..eN (the L2-normalized embedding)
  --pad-to N         pad texts to N tokens (2 to 512; open_clip uses 256); default: the longest text
                     of each batch, which gives the same features with less compute. Texts longer
                     than the 256-token context (or N) are truncated, as open_clip does (with a note)
${MODEL_HELP}

Output (--json): {"images":[{"file","features":[512],"embedding":[512]}],"texts":[{"text","features","embedding"}]}

Examples:
  biomedclip embed --model demo --image assets/examples/adenocarcinoma_histopathology.jpg --text "adenocarcinoma" --json
  biomedclip embed --image assets/examples/adenocarcinoma_histopathology.jpg \\
      --image assets/examples/squamous_cell_carcinoma_histopathology.jpeg --backend wasm --json > emb.json`,

  async run(args) {
    const { values } = parse('embed', args, {
      options: {
        ...MODEL_OPTIONS,
        image: { type: 'string', multiple: true },
        text: { type: 'string', multiple: true },
        'pad-to': { type: 'string' },
        csv: { type: 'boolean', default: false },
      },
    });
    const images = values.image ?? [];
    const texts = values.text ?? [];
    if (images.length === 0 && texts.length === 0) throw new UserError('nothing to embed; pass --image FILE and/or --text TEXT', 2);
    oneFormat(values, ['json', 'csv']);
    const padTo = padToOption(values['pad-to']);
    const clip = await openModel(values);
    try {
      await clip.checkImages(images); // a bad last image fails before the first batch runs
      const bar = progressBar('embed', images.length, 'images');
      const img = await clip.encodeImages(images, { onProgress: (done) => bar.update(done) });
      bar.done();
      const txt = await clip.encodeTexts(texts, { padTo });
      const label = modelLabel(clip);
      const result = {
        ...label.json,
        images: img.map((e, i) => ({ file: images[i], features: e.features, embedding: e.embedding })),
        texts: txt.map((e, i) => ({ text: texts[i], features: e.features, embedding: e.embedding })),
      };
      if (values.json) printJson(result);
      else if (values.csv) {
        const dim = (result.images[0] ?? result.texts[0]).embedding.length;
        console.log(label.csv(['kind', 'source', ...Array.from({ length: dim }, (_, i) => `e${i}`)], true));
        for (const r of result.images) console.log(label.csv(['image', r.file, ...r.embedding]));
        for (const r of result.texts) console.log(label.csv(['text', r.text, ...r.embedding]));
      } else {
        label.tableHeader();
        const show = (v: Float32Array) => `[${Array.from(v.slice(0, 4), (x) => x.toFixed(4)).join(', ')}, ...] (${v.length})`;
        for (const r of result.images) console.log(`image ${r.file}: embedding ${show(r.embedding)}`);
        for (const r of result.texts) console.log(`text ${JSON.stringify(r.text)}: embedding ${show(r.embedding)}`);
      }
      return 0;
    } finally {
      clip.dispose();
    }
  },
};
