// Runs a WorkloadGroup probe on the agent's host the way Kubernetes runs a
// readiness probe: after initialDelaySeconds, every periodSeconds, each try
// given timeoutSeconds; the verdict flips to healthy after successThreshold
// passes in a row and to unhealthy after failureThreshold failures in a row.
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { WorkloadProbe } from '../config/types.js';

export interface ProbeVerdict {
  healthy: boolean;
  message?: string;
}

/** One try of the probe against `host` (the agent's workload address by default). */
export function probeOnce(probe: WorkloadProbe, host: string): Promise<ProbeVerdict> {
  const timeoutMs = probe.timeoutSeconds * 1000;
  if (probe.httpGet) return httpProbe(probe.httpGet, probe.httpGet.host ?? host, timeoutMs);
  if (probe.tcpSocket) return tcpProbe(probe.tcpSocket.host ?? host, probe.tcpSocket.port, timeoutMs);
  if (probe.exec) return execProbe(probe.exec.command, timeoutMs);
  return Promise.resolve({ healthy: true });
}

function httpProbe(get: NonNullable<WorkloadProbe['httpGet']>, host: string, timeoutMs: number): Promise<ProbeVerdict> {
  return new Promise((resolve) => {
    const headers = Object.fromEntries(get.httpHeaders.map((h) => [h.name, h.value]));
    const send = get.scheme === 'HTTPS' ? httpsRequest : httpRequest;
    // Like Kubernetes, an HTTPS probe does not verify the certificate: it checks liveness, not identity.
    const req = send(
      { host, port: get.port, path: get.path, method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 400 ? { healthy: true } : { healthy: false, message: `HTTP GET ${get.path} answered ${status}` });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ healthy: false, message: `HTTP GET ${get.path} failed: ${err.message}` }));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeVerdict> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ healthy: true });
    });
    socket.once('timeout', () => socket.destroy(new Error(`no connection within ${timeoutMs} ms`)));
    socket.once('error', (err) => resolve({ healthy: false, message: `TCP connect to port ${port} failed: ${err.message}` }));
  });
}

function execProbe(command: readonly string[], timeoutMs: number): Promise<ProbeVerdict> {
  return new Promise((resolve) => {
    const [file, ...args] = command;
    execFile(file!, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 }, (err) => {
      if (!err) return resolve({ healthy: true });
      resolve({
        healthy: false,
        message: `${file} failed: ${err.killed ? `timed out after ${timeoutMs} ms` : err.message.split('\n')[0]}`,
      });
    });
  });
}

/** Runs the probe on its schedule and calls `onVerdict` whenever the thresholded verdict changes (and once at first). */
export class ProbeRunner {
  private timer: NodeJS.Timeout | undefined;
  private verdict: ProbeVerdict | undefined;
  private passes = 0;
  private failures = 0;
  private stopped = false;

  constructor(
    private readonly probe: WorkloadProbe,
    private readonly host: string,
    private readonly onVerdict: (verdict: ProbeVerdict) => void,
  ) {}

  start(): void {
    this.schedule(this.probe.initialDelaySeconds * 1000);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** The current verdict (undefined before the thresholds were first reached). */
  current(): ProbeVerdict | undefined {
    return this.verdict;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const result = await probeOnce(this.probe, this.host);
    if (this.stopped) return;
    if (result.healthy) {
      this.passes += 1;
      this.failures = 0;
    } else {
      this.failures += 1;
      this.passes = 0;
    }
    const flip =
      (result.healthy && this.verdict?.healthy !== true && this.passes >= this.probe.successThreshold) ||
      (!result.healthy && this.verdict?.healthy !== false && this.failures >= this.probe.failureThreshold);
    if (flip) {
      this.verdict = result;
      this.onVerdict(result);
    }
    this.schedule(this.probe.periodSeconds * 1000);
  }
}
