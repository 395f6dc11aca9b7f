// The commands of `meshlite`, each loaded only when it runs: a command's module
// pulls in what it needs (gRPC, etcd, fastify, the translator), and a CLI that
// loaded every one of them would spend most of a short command's time on that.
import type { Command } from 'commander';

export interface CommandEntry {
  name: string;
  load(): Promise<Command>;
}

/** In the order `meshlite --help` lists them (`completion` is added by main.ts: it reads the others). */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'validate', load: async () => (await import('./validate.js')).validateCommand() },
  { name: 'analyze', load: async () => (await import('./analyze.js')).analyzeCommand() },
  { name: 'generate', load: async () => (await import('./generate.js')).generateCommand() },
  { name: 'proxies', load: async () => (await import('./proxies.js')).proxiesCommand() },
  { name: 'describe', load: async () => (await import('./describe.js')).describeCommand() },
  { name: 'serve', load: async () => (await import('./serve.js')).serveCommand() },
  { name: 'token', load: async () => (await import('./token.js')).tokenCommand() },
  { name: 'bootstrap', load: async () => (await import('./bootstrap.js')).bootstrapCommand() },
  { name: 'diff', load: async () => (await import('./diff.js')).diffCommand() },
  { name: 'agent', load: async () => (await import('./agent.js')).agentCommand() },
  { name: 'ca', load: async () => (await import('./ca.js')).caCommand() },
  { name: 'apply', load: async () => (await import('./apply.js')).applyCommand() },
  { name: 'get', load: async () => (await import('./get.js')).getCommand() },
  { name: 'delete', load: async () => (await import('./delete.js')).deleteCommand() },
  { name: 'replicas', load: async () => (await import('./replicas.js')).replicasCommand() },
  { name: 'import', load: async () => (await import('./import-marathon.js')).importCommand() },
  { name: 'status', load: async () => (await import('./status.js')).statusCommand() },
  { name: 'proxy-config', load: async () => (await import('./proxy-config.js')).proxyConfigCommand() },
  { name: 'matrix', load: async () => (await import('./matrix.js')).matrixCommand() },
  { name: 'authz', load: async () => (await import('./authz.js')).authzCommand() },
];
