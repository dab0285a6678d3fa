/**
 * @module sidecar/config/service-ports
 * Where the local application listens: `--service-ports rest:8080,grpc:9000`, else env
 * `SERVICE_PORTS` (read directly: the original's binding of it was broken), else the seed's
 * deprecated `SPECIFIC_ADDR=host:port` (host ignored, port mapped to `rest`).
 * Keys are invocation protocols (`rest`, `grpc`, `rest-v2`); `http` is accepted as `rest` with a warning.
 */
import { splitHostPort } from './listen.ts';
import type { HostPort } from './types.ts';

export interface PortsProblem {
  readonly file: string;
  readonly key: string;
  readonly message: string;
}

const PROTOCOL = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Parse `rest:8080,grpc:9000` into a protocol -> port map. */
export function parseServicePorts(
  text: string,
  file: string,
  key: string,
  problems: PortsProblem[],
  notes: PortsProblem[],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const i = item.indexOf(':');
    const proto = (i < 0 ? item : item.slice(0, i)).toLowerCase();
    const portText = i < 0 ? '' : item.slice(i + 1);
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
    if (i < 0 || !PROTOCOL.test(proto)) {
      problems.push({ file, key, message: `"${item}" must be protocol:port, e.g. rest:8080` });
      continue;
    }
    if (!(port >= 1 && port <= 65535)) {
      problems.push({ file, key, message: `"${item}": port must be a number from 1 to 65535` });
      continue;
    }
    let name = proto;
    if (proto === 'http') {
      notes.push({
        file,
        key,
        message: `"${item}": the protocol is named rest, not http; treating it as rest:${port}`,
      });
      name = 'rest';
    }
    if (out[name] !== undefined) {
      problems.push({ file, key, message: `protocol ${name} is given twice` });
      continue;
    }
    out[name] = port;
  }
  return out;
}

export interface LocalApp {
  readonly servicePorts: Record<string, number>;
  readonly localApp: HostPort | null;
}

export function resolveLocalApp(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  problems: PortsProblem[],
  notes: PortsProblem[],
): LocalApp {
  let ports: Record<string, number> = {};
  if (flag !== undefined) {
    ports = parseServicePorts(flag, 'command line', '--service-ports', problems, notes);
  } else if (env.SERVICE_PORTS) {
    ports = parseServicePorts(env.SERVICE_PORTS, 'env', 'SERVICE_PORTS', problems, notes);
  } else if (env.SPECIFIC_ADDR) {
    const p = splitHostPort(env.SPECIFIC_ADDR, false);
    if (!p.ok) problems.push({ file: 'env', key: 'SPECIFIC_ADDR', message: p.message });
    else {
      if (p.host !== '127.0.0.1' && p.host !== 'localhost') {
        notes.push({
          file: 'env',
          key: 'SPECIFIC_ADDR',
          message: `the host part is ignored: the application is reached on 127.0.0.1:${p.port}`,
        });
      }
      ports = { rest: p.port };
    }
  }
  const rest = ports.rest;
  return { servicePorts: ports, localApp: rest === undefined ? null : { host: '127.0.0.1', port: rest } };
}
