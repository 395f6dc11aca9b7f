// The body of the config-loading worker thread: reads, parses, validates and
// analyzes off the main thread, so ADS and the admin server stay responsive
// while a large config is loaded. One request in, one LoadResult out.
import { parentPort } from 'node:worker_threads';
import { analyzedLoad, type LoadRequest } from './analyzed-load.js';

export type { LoadRequest };

parentPort?.once('message', (request: LoadRequest) => {
  parentPort!.postMessage(analyzedLoad(request));
});
