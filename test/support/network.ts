import { request } from 'node:http';
import { networkInterfaces } from 'node:os';

/** How a test reaches a service from an address the service must not treat as loopback. */
export type RemoteRoute = { url: string; localAddress?: string; from: string };

/** This machine's first non-internal IPv4 address, if it has one. */
export function externalIpv4(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  return undefined;
}

/**
 * A way in from "another host". A development or test instance listens on loopback only (README,
 * Security), so the way in is from 127.0.0.2: the kernel routes all of 127.0.0.0/8 to loopback, and
 * the service's loopback rule (the exact addresses 127.0.0.1, ::1 and ::ffff:127.0.0.1) does not admit
 * it. A production instance listening on 0.0.0.0 or :: is reached through this machine's own external
 * address when it has one: the kernel then uses that address as the source, so the service sees a
 * peer that is not loopback at all.
 */
export function remoteRouteTo(serviceUrl: string): RemoteRoute {
  const { hostname, port } = new URL(serviceUrl);
  const external = hostname === '0.0.0.0' || hostname === '[::]' ? externalIpv4() : undefined;
  if (external) return { url: `http://${external}:${port}`, from: external };
  return { url: `http://127.0.0.1:${port}`, localAddress: '127.0.0.2', from: '127.0.0.2' };
}

/** One HTTP request from the route's source address; the body is read whole. */
export function requestVia(
  route: RemoteRoute,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${route.url}${path}`, { method: options.method ?? 'GET', headers: options.headers, localAddress: route.localAddress }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
