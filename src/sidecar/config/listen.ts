/**
 * @module sidecar/config/listen
 * The seed's listen rules. `servicecomb.protocols.http.listenAddress` decides which proxies run:
 *  - `127.0.0.1:P`  -> forward proxy on 127.0.0.1:P only (consumer-only; nothing registered);
 *  - another IPv4 X -> forward proxy on 127.0.0.1:P and reverse proxy on X:P (same port, two
 *                      sockets), registered as rest://X:P (or advertiseAddress);
 *  - 0.0.0.0, a hostname, IPv6, a bad port -> an error saying what to write instead.
 * Port 0 is allowed (ephemeral; the wiring reports the real port). Edge mode accepts 0.0.0.0.
 */
import { isIPv4 } from 'node:net';
import type { HostPort, Listeners } from './types.ts';

export const HTTP_LISTEN_KEY = 'servicecomb.protocols.http.listenAddress';
export const HTTP_ADVERTISE_KEY = 'servicecomb.protocols.http.advertiseAddress';
export const ADMIN_LISTEN_KEY = 'servicecomb.protocols.rest-admin.listenAddress';

export type Problem = { readonly key: string; readonly message: string };
type Parsed = { ok: true; host: string; port: number } | { ok: false; message: string };

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function hint(port: number | string): string {
  return `listen on the pod's IP, e.g. 10.0.0.5:${port}, or 127.0.0.1:${port} for a consumer-only sidecar`;
}

/** Split `host:port` and check the port; the host is returned as written. */
export function splitHostPort(raw: string, allowZeroPort: boolean): Parsed {
  const s = raw.trim();
  if (s.startsWith('[') || (s.match(/:/g) ?? []).length > 1) {
    return { ok: false, message: `"${s}" is IPv6, which is not supported; use an IPv4 address` };
  }
  const i = s.lastIndexOf(':');
  if (i < 0) return { ok: false, message: `"${s}" has no port; write host:port, e.g. 127.0.0.1:30101` };
  const host = s.slice(0, i);
  const portText = s.slice(i + 1);
  const min = allowZeroPort ? 0 : 1;
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= min && port <= 65535)) {
    return { ok: false, message: `port "${portText}" must be a number from ${min} to 65535` };
  }
  if (host === '')
    return { ok: false, message: `"${s}" has no host; write host:port, e.g. 127.0.0.1:${port}` };
  return { ok: true, host, port };
}

/** A literal, usable IPv4 listen address. `allowAny` permits 0.0.0.0 (edge mode, admin). */
function parseListen(raw: string, allowAny: boolean): Parsed {
  const p = splitHostPort(raw, true);
  if (!p.ok) {
    return p.message.includes('IPv6') ? { ok: false, message: `${p.message}: ${hint(30101)}` } : p;
  }
  const { host, port } = p;
  if (host === 'localhost')
    return { ok: false, message: `use 127.0.0.1:${port} instead of localhost:${port}` };
  if (!isIPv4(host)) {
    return {
      ok: false,
      message: `"${host}" is not a literal IPv4 address (hostnames are not allowed): ${hint(port)}`,
    };
  }
  const first = Number(host.split('.')[0]);
  if (host === '0.0.0.0' && !allowAny) {
    return {
      ok: false,
      message: `0.0.0.0 is not allowed: the sidecar binds 127.0.0.1:${port} for outbound calls itself; ${hint(port)}`,
    };
  }
  if (first >= 224 || (first === 0 && host !== '0.0.0.0')) {
    return { ok: false, message: `${host} is not a unicast address: ${hint(port)}` };
  }
  return p;
}

export interface ListenInput {
  readonly mode: 'sidecar' | 'edge';
  readonly listen: string;
  readonly advertise: string | undefined;
  readonly admin: string;
  readonly adminEnabled: boolean;
}

/** Apply the listen rules; problems are errors, notes are warnings. */
export function resolveListeners(
  input: ListenInput,
  problems: Problem[],
  notes: Problem[],
): Listeners | undefined {
  const listen = parseListen(input.listen, input.mode === 'edge');
  if (!listen.ok) problems.push({ key: HTTP_LISTEN_KEY, message: listen.message });

  let admin: HostPort | null = null;
  if (input.adminEnabled) {
    const a = parseListen(input.admin, true);
    if (!a.ok) problems.push({ key: ADMIN_LISTEN_KEY, message: a.message });
    else {
      admin = { host: a.host, port: a.port };
      if (a.host === '0.0.0.0') {
        notes.push({
          key: ADMIN_LISTEN_KEY,
          message: 'the admin API on 0.0.0.0 is reachable from the network',
        });
      }
    }
  }

  let advertiseGiven: HostPort | undefined;
  if (input.advertise !== undefined && input.advertise.trim() !== '') {
    const p = splitHostPort(input.advertise, false);
    if (!p.ok) problems.push({ key: HTTP_ADVERTISE_KEY, message: p.message });
    else if (p.host === '0.0.0.0' || !(isIPv4(p.host) || HOSTNAME.test(p.host))) {
      problems.push({
        key: HTTP_ADVERTISE_KEY,
        message: `"${p.host}" cannot be called by other instances; advertise the pod's IP or DNS name, e.g. 10.0.0.5:${p.port}`,
      });
    } else advertiseGiven = { host: p.host, port: p.port };
  }
  if (!listen.ok) return undefined;

  const { host, port } = listen;
  const outbound: HostPort = { host: '127.0.0.1', port };
  let inbound: HostPort | null = null;
  let advertise: HostPort | null = null;
  if (input.mode === 'edge' || host !== '127.0.0.1') {
    inbound = { host, port };
    advertise = advertiseGiven ?? (host === '0.0.0.0' ? null : inbound);
    if (host === '0.0.0.0' && !advertiseGiven) {
      notes.push({
        key: HTTP_ADVERTISE_KEY,
        message: 'edge mode on 0.0.0.0 registers no endpoint; set advertiseAddress to register one',
      });
    }
  } else if (advertiseGiven) {
    notes.push({
      key: HTTP_ADVERTISE_KEY,
      message: `ignored: listenAddress is on 127.0.0.1, so this sidecar only consumes and registers no endpoint (${hint(port)})`,
    });
  }

  if (admin && admin.port !== 0 && admin.port === port) {
    const clash =
      admin.host === '0.0.0.0' ||
      host === '0.0.0.0' ||
      admin.host === outbound.host ||
      (inbound !== null && admin.host === inbound.host);
    if (clash) {
      problems.push({
        key: ADMIN_LISTEN_KEY,
        message: `port ${port} on ${admin.host} is already taken by ${HTTP_LISTEN_KEY}; pick another port (default 30102)`,
      });
    }
  }
  return { outbound, inbound, advertise, admin };
}
