// The body of the config-loading worker thread: reads, parses and validates
// off the main thread, so ADS and the admin server stay responsive while a
// large config is loaded. One request in, one LoadResult out.
import { parentPort } from 'node:worker_threads';
import { loadConfig, type LoadOptions } from './load-config.js';

export interface LoadRequest {
  paths: readonly string[];
  options: LoadOptions;
}

parentPort?.once('message', (request: LoadRequest) => {
  parentPort!.postMessage(loadConfig(request.paths, request.options));
});
