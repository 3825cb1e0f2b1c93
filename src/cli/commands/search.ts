import { existsSync } from 'node:fs';
import type { Command } from '../command.js';
import { intOption, MAX_TOP, MODEL_HELP, MODEL_OPTIONS, modelLabel, oneFormat, openModel, parse, printJson, type ModelLabel } from '../common.js';
import { UserError } from '../../errors.js';
import type { BiomedCLIP } from '../../api/biomedclip.js';
import { FINGERPRINT_PREFIX, modelFingerprint } from '../../weights/fingerprint.js';
import { IndexReader } from '../../retrieval/index-reader.js';
import { lockHolder } from '../../retrieval/lock.js';
import { searchIndex, type Hit } from '../../retrieval/search.js';
import { ANN_MIN_ROWS } from '../../retrieval/vector-index.js';

export const command: Command = {
  usage: `Usage: biomedclip search INDEX "QUERY" [options]
       biomedclip search INDEX --image FILE [options]

Ranks the images of INDEX (built by \`biomedclip index\`) by cosine similarity between their embeddings
and the query's: a text (text-to-image) or, with --image, an image (image-to-image). Scores are the
cosine and CLIP's logit, exp(logit_scale) · cosine. The model is the one the index was built with
(index.json); --model may name another copy of the same weights.
The search is an exact scan of the index's LanceDB table, verified as it is read (the table opens, its
row count and width match index.json, every row is finite and unit-norm), unless \`index\` has trained
an approximate vector index (past ${ANN_MIN_ROWS.toLocaleString('en-US')} rows): then LanceDB visits only the part of the table
nearest the query (milliseconds at a million rows; the rows returned are verified and their cosines are
exact, but a true neighbour can be missed: recall in docs/performance.md); --exact scans every row.
A damaged index is refused with a line that says how to repair it (usually: re-run \`biomedclip index\`).

Options:
  --top K            how many results (default 10)
  --exact            scan every row even when the index has an approximate vector index
  --image FILE       search with an image instead of a text
  --csv              rank,cosine,logit,path as CSV on stdout
${MODEL_HELP}

Output (--json): {"index","query":{"text"|"image"},"count","complete","method":"exact"|"approximate",
                  "results":[{"rank","path","file","cosine","logit"}]}

Examples:
  biomedclip search examples.index "adenocarcinoma histopathology" --top 1
  biomedclip search examples.index --image assets/examples/adenocarcinoma_histopathology.jpg --json
  biomedclip search ./scans.index "H&E stained tissue" --csv > hits.csv`,

  async run(args) {
    const { values, positionals } = parse('search', args, {
      allowPositionals: true,
      options: {
        ...MODEL_OPTIONS,
        top: { type: 'string', default: '10' },
        image: { type: 'string' },
        csv: { type: 'boolean', default: false },
        exact: { type: 'boolean', default: false },
      },
    });
    const [indexDir, text, ...extra] = positionals;
    if (indexDir === undefined) throw new UserError('expected INDEX and a "QUERY" (or --image FILE); see `biomedclip search --help`', 2);
    if (extra.length > 0) throw new UserError(`unexpected argument '${extra[0]}'; quote a query with spaces: "chest X-ray"`, 2);
    if ((text === undefined) === (values.image === undefined)) throw new UserError('give either a "QUERY" text or --image FILE (exactly one)', 2);
    oneFormat(values, ['json', 'csv']);
    const top = intOption('top', values.top, 1, MAX_TOP) as number;
    const reader = await IndexReader.open(indexDir);
    try {
      const writer = reader.info.complete ? undefined : await lockHolder(indexDir);
      if (reader.count === 0) throw new UserError(emptyIndex(reader, indexDir, writer));
      const clip = await openIndexModel(reader, values);
      try {
        const query = text !== undefined ? (await clip.encodeTexts([text]))[0] : (await clip.encodeImages([values.image as string]))[0];
        const scale = clip.logitScale;
        const { hits, method } = await searchIndex(reader, query.embedding, top, scale, { exact: values.exact });
        if (!reader.info.complete && !values.quiet) {
          // While a run holds the lock, telling the user to run index would only hit that lock.
          const next =
            writer !== undefined
              ? `\`biomedclip index\` (process ${writer}) is still writing it; search again when it has finished`
              : finishIt(reader, indexDir);
          console.error(`biomedclip: note: the index is incomplete (${reader.count} images so far); ${next}`);
        }
        const queryInfo = text !== undefined ? { text } : { image: values.image as string };
        const meta = { index: indexDir, query: queryInfo, count: reader.count, complete: reader.info.complete, method };
        print(hits, { json: values.json, csv: values.csv }, meta, modelLabel(clip));
        return 0;
      } finally {
        clip.dispose();
      }
    } finally {
      await reader.close();
    }
  },
};

/** How to complete an interrupted index: rerun the command, or, for an array job, the shards not finished. */
function finishIt(reader: IndexReader, dir: string): string {
  const cmd = `biomedclip index ${reader.info.root} --out ${dir}`;
  const shards = reader.info.shards;
  if (shards === undefined) return `finish it with \`${cmd}\``;
  const left = [...Array(shards.count).keys()].filter((k) => !shards.done.includes(k));
  const some = left.length > 4 ? `${left.slice(0, 4).join(', ')}, ...` : left.join(', ');
  return `${shards.done.length} of ${shards.count} shards have finished; run the others (${some}) with \`${cmd} --shard K/${shards.count}\``;
}

/** Why an index with no rows cannot answer, and what to do: wait for the writer, finish it, or index images. */
function emptyIndex(reader: IndexReader, dir: string, writer: number | undefined): string {
  if (writer !== undefined)
    return `${dir}: no images yet: \`biomedclip index\` (process ${writer}) is writing it; wait for it to commit its first batch (or finish), then search again`;
  if (!reader.info.complete) return `${dir}: no images yet (an index run was interrupted); ${finishIt(reader, dir)}`;
  return `${dir}: the index holds no images; index a folder that has some into a new folder: \`biomedclip index IMAGES_DIR --out NEW_INDEX\``;
}

/** The index's own model (or --model), refused if its weights differ from those that built the index. */
async function openIndexModel(reader: IndexReader, values: { model?: string; backend?: string; quiet?: boolean }): Promise<BiomedCLIP> {
  const dir = values.model ?? reader.info.model.dir;
  if (values.model === undefined && !existsSync(dir)) {
    throw new UserError(`the index's model ${dir} no longer exists; pass --model DIR with the same weights`);
  }
  if (!reader.info.model.fingerprint.startsWith(FINGERPRINT_PREFIX)) {
    throw new UserError(
      `${reader.dir}: built by an older version whose model fingerprint covered only part of the weights; rebuild it with \`biomedclip index ${reader.info.root} --out NEW_INDEX\``,
    );
  }
  const clip = await openModel({ ...values, model: dir });
  if ((await modelFingerprint(clip.modelDir)) !== reader.info.model.fingerprint) {
    clip.dispose();
    throw new UserError(`--model ${dir}: not the weights this index was built with (${reader.info.model.dir}); pass that model or rebuild the index`);
  }
  return clip;
}

function print(hits: Hit[], format: { json?: boolean; csv?: boolean }, meta: Record<string, unknown>, label: ModelLabel): void {
  if (format.json) {
    printJson({
      ...label.json,
      ...meta,
      results: hits.map((h) => ({ rank: h.rank, path: h.path, file: h.file, cosine: h.cosine, logit: h.logit })),
    });
  } else if (format.csv) {
    console.log(label.csv(['rank', 'cosine', 'logit', 'path'], true));
    for (const h of hits) console.log(label.csv([h.rank, h.cosine, h.logit, h.file]));
  } else {
    label.tableHeader();
    console.log(`${'rank'.padStart(4)}  ${'cosine'.padStart(8)}  ${'logit'.padStart(8)}  path`);
    for (const h of hits) console.log(`${String(h.rank).padStart(4)}  ${h.cosine.toFixed(4).padStart(8)}  ${h.logit.toFixed(3).padStart(8)}  ${h.file}`);
  }
}
