/**
 * The Host a request names, checked against the server's own address: a page on another site whose name resolves to
 * 127.0.0.1 (DNS rebinding) sends its own name as Host, and is refused, while a client that names the address it
 * connected to, a loopback name, or a name the user allowed is served.
 */
import { isIP } from "node:net";

function hostnameOf(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]"));
  const colon = h.lastIndexOf(":");
  return colon > 0 && h.indexOf(":") === colon ? h.slice(0, colon) : h;
}

function plainAddress(a: string): string {
  const x = a.toLowerCase();
  return x.startsWith("::ffff:") && isIP(x.slice(7)) === 4 ? x.slice(7) : x;
}

function isLoopback(name: string): boolean {
  return name === "localhost" || name.endsWith(".localhost") || name === "::1" || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** Whether a request's Host is this server's: no header (HTTP/1.0), the address connected to, loopback, or allowed. */
export function hostAllowed(
  hostHeader: string | undefined,
  localAddress: string | undefined,
  allowed: readonly string[] = [],
): boolean {
  if (hostHeader === undefined) return true;
  const name = plainAddress(hostnameOf(hostHeader));
  if (isLoopback(name)) return true;
  if (localAddress && name === plainAddress(localAddress)) return true;
  return allowed.some((a) => a.toLowerCase() === name);
}

export function hostRefusal(hostHeader: string): string {
  return (
    `Host ${JSON.stringify(hostHeader)} is not this server's address (refused against DNS rebinding); ` +
    `start it with --allow-host ${hostnameOf(hostHeader)} to serve that name`
  );
}
