// The files of a self-signed root in the state directory's `ca/` (apart from
// root-store.ts so the CLI can check for them without loading X.509 code).
export const ROOT_CERT_FILE = 'root-cert.pem';
export const ROOT_KEY_FILE = 'root-key.pem';
