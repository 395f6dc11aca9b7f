// The shape of a predicted reachability matrix: what `meshlite matrix` prints
// as JSON and what the admin dashboard renders.

/** What curl would print: an HTTP status, `000` for a reset/refused connection, `?` when the path cannot be predicted. */
export type CallOutcome = '200' | '403' | '503' | '000' | '?';

export interface MatrixCell {
  /** Client workload, `<ns>/<name>`. */
  from: string;
  /** Service port, `<host>:<port>`. */
  to: string;
  code: CallOutcome;
  /** The call reached the server over mutual TLS. */
  mtls: boolean;
  /** The SPIFFE identity the client presented (mTLS only). */
  identity?: string;
  /** Every step that decided the outcome, in the order a request meets them. */
  reason: string;
}

export interface PredictedMatrix {
  clients: string[];
  services: string[];
  cells: MatrixCell[];
  /** Why there are no cells, when the prediction was not made (e.g. a mesh too large to predict inside serve). */
  note?: string;
}

export interface MatrixOptions {
  /** Clients by `<ns>/<name>`, name, or namespace; all workloads when empty. */
  from?: readonly string[];
  /** Services by `<host>:<port>`, host, short name or namespace; every mesh-internal service port when empty. */
  to?: readonly string[];
  /** Request path; `/headers` by default. */
  path?: string;
}
