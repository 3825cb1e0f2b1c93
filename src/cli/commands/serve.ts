/**
 * `biomedclip serve`: the explorer, with the model running in the browser (docs/explorer.md). Prints one
 * line, the URL, and serves until interrupted.
 */
import type { Command } from '../command.js';
import { intOption, parse } from '../args.js';
import { pageModelDir } from '../page-model.js';
import { serve } from '../../studio/serve.js';

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
  --host H      address to listen on (default 127.0.0.1: only this machine can open the page; another
                address shares the model and the page with your network)
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
    const modelDir = await pageModelDir(values.demo ? 'demo' : values.model);
    const server = await serve({ modelDir, port, host: values.host ?? '127.0.0.1' });
    console.log(`biomedclip explorer: ${server.url}`);
    await new Promise<void>((done) => {
      const stop = () => void server.close().then(done);
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};
