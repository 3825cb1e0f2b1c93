/**
 * `biomedclip` entry point: finds the subcommand, runs it, and turns any thrown error into one line on
 * stderr and a non-zero exit code. Commands are imported lazily so `biomedclip tokenize` never pays for
 * loading TensorFlow.js.
 */
import { UserError, oneLine } from '../errors.js';
import type { Command } from './command.js';

type Loader = () => Promise<{ command: Command }>;

/** name → one-line summary and loader: the only list of commands, so `--help` imports none of them. */
const COMMANDS: Record<string, { summary: string; load: Loader }> = {
  embed: { summary: 'image and text embeddings (features and L2-normalized embeddings)', load: () => import('./commands/embed.js') },
  classify: { summary: 'zero-shot classification of images against text labels', load: () => import('./commands/classify.js') },
  tokenize: { summary: 'show the token ids open_clip would give BiomedCLIP for some texts', load: () => import('./commands/tokenize.js') },
  preprocess: {
    summary: "image file -> BiomedCLIP pixel_values (safetensors), bit-identical to open_clip's preprocessing",
    load: () => import('./commands/preprocess.js'),
  },
  convert: { summary: 'convert a PyTorch checkpoint (.bin/.pt, read without Python) to a model directory', load: () => import('./commands/convert.js') },
  download: {
    summary: 'fetch the official weights from the Hugging Face hub (cached, verified, resumable) and convert them',
    load: () => import('./commands/download.js'),
  },
  index: { summary: 'embed every image of a folder into a resumable, NumPy-readable search index', load: () => import('./commands/index.js') },
  search: { summary: 'rank the images of an index by similarity to a text query or a query image', load: () => import('./commands/search.js') },
  eval: {
    summary: 'zero-shot classification and cross-modal retrieval metrics, as the BiomedCLIP paper reports them; grounding of explanation maps',
    load: () => import('./commands/eval.js'),
  },
  parity: {
    summary: 'compare our activations with a PyTorch reference trace, hook by hook (exit 1 on any failure)',
    load: () => import('./commands/parity.js'),
  },
  summary: { summary: 'every module and hook point with its output shape and parameter count (for teaching)', load: () => import('./commands/summary.js') },
  trace: { summary: 'capture named activations (hooks) of both towers into a safetensors file', load: () => import('./commands/trace.js') },
  explain: {
    summary: 'which image patches and words drive an image-text logit: attention, rollout, relevance, Grad-CAM, LeGrad',
    load: () => import('./commands/explain.js'),
  },
  ablate: { summary: 'the logit change when each attention head of either tower is zero- or mean-ablated', load: () => import('./commands/ablate.js') },
  lens: {
    summary: "the logit lens: each image block's [CLS] read through the final norm and head, scored against texts",
    load: () => import('./commands/lens.js'),
  },
  sanity: {
    summary: 'does an explanation depend on the model and the prompt? randomisation, deletion/insertion, prompt checks',
    load: () => import('./commands/sanity.js'),
  },
  serve: {
    summary: 'the explorer: BiomedCLIP running in your browser on images and texts you give it (local server)',
    load: () => import('./commands/serve.js'),
  },
  studio: { summary: 'the explorer as static files for any web server (with the model, or beside one)', load: () => import('./commands/studio.js') },
  view: {
    summary: 'one self-contained HTML page: every attention head of both towers, explanation maps, logit lens',
    load: () => import('./commands/view.js'),
  },
};

function topHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}  ${c.summary}`);
  return [
    'biomedclip: BiomedCLIP (ViT-B/16 + PubMedBERT) in TypeScript on TensorFlow.js',
    '',
    'Usage: biomedclip COMMAND [options]     (biomedclip COMMAND --help, or biomedclip help COMMAND, for details)',
    '',
    'Commands:',
    ...lines,
    '',
    'Common options: --model DIR, --backend tensorflow|webgpu|wasm|cpu, --workers N, --threads N, --json',
  ].join('\n');
}

/**
 * A reader that stops early (`biomedclip classify ... | head -1`) closes the pipe; the next write to stdout
 * then fails with EPIPE, which Node raises as an uncaught 'error' event and dies of, mid-command, before any
 * output file is written. Here the closed pipe only silences stdout: the command finishes its work and its
 * files, and exits as it would have.
 */
export function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  if (stream.listeners('error').includes(ignoreClosedPipe)) return;
  stream.on('error', ignoreClosedPipe);
}

function ignoreClosedPipe(err: NodeJS.ErrnoException): void {
  // ERR_STREAM_DESTROYED: a write after the EPIPE, on the stream Node has destroyed since.
  if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
  throw err;
}

export async function main(argv: string[]): Promise<number> {
  quietOnClosedPipe(process.stdout);
  quietOnClosedPipe(process.stderr);
  const [name, ...rest] = argv;
  if (name === 'help' && rest.length > 0) return main([rest[0], '--help']);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(topHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    console.log(process.env.npm_package_version ?? '0.1.0');
    return 0;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    console.error(`biomedclip: error: unknown command '${name}'; valid commands: ${Object.keys(COMMANDS).join(', ')}`);
    return 2;
  }
  try {
    const { command } = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(command.usage);
      return 0;
    }
    return await command.run(rest);
  } catch (err) {
    console.error(`biomedclip: error: ${oneLine(err)}`);
    if (process.env.BIOMEDCLIP_DEBUG && err instanceof Error) console.error(err.stack);
    return err instanceof UserError ? err.exitCode : 1;
  }
}
