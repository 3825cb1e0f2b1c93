/**
 * `biomedclip serve`: the explorer, with the model running in the browser (docs/explorer.md). Prints one
 * line, the URL, and serves until interrupted.
 */
import type { Command } from '../command.js';
import { intOption, parse } from '../args.js';
import { pageModelDir } from '../page-model.js';
import { checkHost, isWildcard, serve } from '../../studio/serve.js';

export const command: Command = {
  usage: `Usage: biomedclip serve [--model DIR | --demo] [--port N] [--host H]

Serves the explorer: a page that runs BiomedCLIP in the browser (WebGPU, or wasm on every core) on
images you drop, paste or pick and texts you type, with zero-shot scores, every attention head of both
towers, explanation maps, head ablation and a step-by-step walk through the forward pass. Open the URL
it prints. The page fetches the model directory's files from this server once and keeps the weights in
the browser's cache; nothing leaves this machine.

Options:
  --model DIR   the model directory to serve (default: the model \`biomedclip download\` converted;
                'demo' is the small random-weight model that works offline)
  --demo        same as --model demo
  --port N      port to listen on (default 8737; 0 picks a free one)
  --host H      address to listen on (default 127.0.0.1: only this machine can open the page; another,
                e.g. 0.0.0.0, shares the model and the page with your network, where browsers run it
                without WebGPU, wasm threads or the weights cache: plain http is secure only on localhost)
  -h, --help    show this help

Output: one line, "biomedclip explorer: http://127.0.0.1:8737/". Stop with Ctrl-C.
For a static copy anyone can host, see \`biomedclip studio --help\`.

Examples:
  biomedclip serve --demo
  biomedclip serve --model ./biomedclip --port 0`,

  async run(args) {
    const { values } = parse('serve', args, {
      options: { model: { type: 'string' }, demo: { type: 'boolean', default: false }, port: { type: 'string' }, host: { type: 'string' } },
    });
    const port = intOption('port', values.port, 0, 65535, 'the port to listen on') ?? 8737;
    const host = values.host ?? '127.0.0.1';
    checkHost(host);
    const modelDir = await pageModelDir(values.demo ? 'demo' : values.model);
    const server = await serve({ modelDir, port, host });
    console.log(`biomedclip explorer: ${server.url}`);
    if (!isLoopback(host)) console.error(`biomedclip: note: ${sharedNote(host, server.url)}`);
    await new Promise<void>((done) => {
      const stop = () => void server.close().then(done);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};

/** 127.0.0.0/8, ::1 and localhost: the addresses only this machine reaches, and which browsers trust. */
function isLoopback(host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === 'localhost';
}

/**
 * What listening beyond loopback means: other machines reach the page over plain http, which a browser
 * trusts (a "secure context") only on localhost, so it withholds WebGPU, SharedArrayBuffer (wasm's
 * threads) and the Cache API there: the page still runs, on one wasm thread, and refetches the weights.
 */
function sharedNote(host: string, url: string): string {
  const where = isWildcard(host) ? 'every interface' : host;
  const port = new URL(url).port;
  return (
    `listening on ${where}: other machines open http://THIS-MACHINE:${port}/, where the page runs on one wasm thread ` +
    'without WebGPU or its weights cache (browsers allow those over plain http only on localhost; an SSH tunnel keeps them)'
  );
}
