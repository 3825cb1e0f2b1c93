/**
 * `biomedclip index export INDEX --npy DIR`, reached through `biomedclip index export ...` (index.ts
 * hands it the arguments after `export`): the index as embeddings.npy + manifest.jsonl (export.ts).
 */
import { parse, printJson } from '../common.js';
import { UserError } from '../../errors.js';
import { exportIndex } from '../../retrieval/export.js';

/** The export's usage line in `biomedclip index --help`. */
export const EXPORT_SYNOPSIS = '       biomedclip index export INDEX --npy DIR [--json]';

/** The export's paragraph in `biomedclip index --help`. */
export const EXPORT_HELP = `\`index export\` writes the index's rows as plain files into DIR (new or empty), for NumPy, FAISS and
scripts without LanceDB (a folder of images named "export" is indexed as ./export):
  DIR/embeddings.npy   float32 [N, E], L2-normalized rows (np.load reads it as is)
  DIR/manifest.jsonl   one line per row: {"row","path","size","mtimeMs","sha256"}, path relative to the images
  DIR/index.json       the index's image root, model and embed dim
  Output (--json): {"index","out","count","embedDim"}`;

export async function runExport(args: string[]): Promise<number> {
  const { values, positionals } = parse('index export', args, {
    allowPositionals: true,
    options: { npy: { type: 'string' }, json: { type: 'boolean' }, quiet: { type: 'boolean' } },
  });
  if (positionals.length !== 1) throw new UserError('expected one INDEX; see `biomedclip index --help`', 2);
  if (!values.npy) throw new UserError('missing --npy DIR (the folder to write embeddings.npy and manifest.jsonl into)', 2);
  const result = await exportIndex(positionals[0], values.npy);
  if (values.json) printJson(result);
  else console.log(`${result.out}: ${result.count} rows of ${result.embedDim} float32 (embeddings.npy, manifest.jsonl)`);
  return 0;
}
