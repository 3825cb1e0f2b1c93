/**
 * One pool worker: its own TF.js engine and backend (worker_threads get their own module instances), its
 * own copy of the model, and one task at a time, in the order the tasks arrive: a batch to embed, or a
 * pair to explain (`explainHost`, the code and defaults the main thread runs).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { embedIdBatch, embedPixelBatch, type FlatEmbeddings } from '../embed/embed.js';
import { useBackend } from '../backends/select.js';
import { UserError, oneLine } from '../errors.js';
import { explainHost, type Explanation } from '../inspect/explain.js';
import type { BiomedCLIPModel } from '../model/clip.js';
import { loadModel } from '../model/load.js';
import { transferables, type Reply, type Request, type Task, type WorkerSetup } from './protocol.js';

const port = parentPort!;
const setup = workerData as WorkerSetup;

function send(reply: Reply): void {
  port.postMessage(reply, reply.type === 'done' ? transferables(reply.result) : []);
}

async function start(): Promise<BiomedCLIPModel | null> {
  try {
    await useBackend(setup.backend, { threads: setup.threads });
    const model = await loadModel(setup.modelDir, { allowNonfinite: setup.allowNonfinite });
    send({ type: 'ready' });
    return model;
  } catch (err) {
    send({ type: 'failed', message: oneLine(err), userError: err instanceof UserError });
    return null;
  }
}

const model = await start();
if (model !== null) {
  // Batches are run strictly one after another: a second batch must not start while the first one's
  // results are being read back, or two batches' activations would be alive at once.
  let queue = Promise.resolve();
  port.on('message', (req: Request) => {
    queue = queue.then(async () => {
      try {
        send({ type: 'done', id: req.id, result: await run(model, req) });
      } catch (err) {
        send({ type: 'error', id: req.id, message: oneLine(err), userError: err instanceof UserError });
      }
    });
  });
}

function run(model: BiomedCLIPModel, task: Task): Promise<FlatEmbeddings | Explanation[]> {
  switch (task.kind) {
    case 'pixels':
      return embedPixelBatch(model, task.px);
    case 'ids':
      return embedIdBatch(model, task.ids);
    case 'explain':
      return explainHost(model, task.pair, task.methods, task.options);
  }
}
