/**
 * Generates the demo model (random weights at toy width) into `models/demo`. Run by `npm install` /
 * `npm ci` through the `prepare` script; safe to re-run.
 */
import { demoModelDirs, writeDemoModel } from '../src/demo/demo-model.js';

const dir = demoModelDirs()[0];
const t0 = Date.now();
await writeDemoModel(dir);
console.error(`biomedclip: demo model (random weights) written to ${dir} in ${Date.now() - t0} ms`);
