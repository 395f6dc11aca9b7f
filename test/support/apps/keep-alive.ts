// Test apps sit behind Envoy, which pools upstream connections for up to an
// hour. Node closes an idle keep-alive connection after 5 s, and a request
// Envoy sends on a pooled connection just as Node closes it comes back as a
// 503 (a real race, seen in CI). Production apps behind a proxy set a keep-alive
// longer than the proxy's idle timeout; the test apps do the same.
export function outlastProxyIdleTimeout(server: { keepAliveTimeout: number; headersTimeout: number }): void {
  server.keepAliveTimeout = 2 * 60 * 60 * 1000;
  server.headersTimeout = server.keepAliveTimeout + 1000;
}
