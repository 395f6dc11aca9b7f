// The body of the config-loading worker thread: reads, parses and validates
// off the main thread, so ADS and the admin server stay responsive while a
// large config is loaded. One request in, one LoadResult out.
import { parentPort } from 'node:worker_threads';
import type { LoadOptions } from '../config/load-config.js';
import { loadMeshConfig } from './load-mesh.js';

export interface LoadRequest {
  paths: readonly string[];
  options: LoadOptions;
}

parentPort?.once('message', (request: LoadRequest) => {
  parentPort!.postMessage(loadMeshConfig(request.paths, request.options));
});
