/**
 * Loopback addresses (also as IPv4-mapped IPv6, as a dual-stack socket reports clients): the only
 * ones a server may listen on with writes open to anyone, and the clients metrics are served to.
 */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^(::ffff:)?127(\.\d{1,3}){3}$/.test(host);
}
