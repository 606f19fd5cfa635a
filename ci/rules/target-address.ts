// target-address: a static target is `host:port` — no scheme, no path, no whitespace, a port from 1 to
// 65535, IPv6 in brackets (`[::1]:9100`). Prometheus takes the scheme, path and query from the job
// (scheme, metrics_path, params), so a URL pasted as a target either fails the config or scrapes the
// wrong thing. The hint rewrites a pasted URL into the target plus the job keys it implies.
import { isIPv4, isIPv6 } from 'node:net';
import type { Rule } from '../../core/compiler/rule.ts';
import type { PathSegment } from '../../core/repository/parse-yaml-file.ts';
import { forEachJob, isRecord } from './walk.ts';
import { quote } from './format.ts';

export interface AddressProblem {
  message: string;
  hint?: string;
}

const HOST_LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

function validHost(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  if (/^[\d.]+$/.test(host)) return isIPv4(host);
  return host.replace(/\.$/, '').split('.').every((l) => HOST_LABEL.test(l));
}

/** Removes user:password@ so a finding never repeats a credential. */
function redactUserinfo(s: string): string {
  return s.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)?[^/@\s]*@/, (_m, scheme: string | undefined) => `${scheme ?? ''}…@`);
}

/** Checks `host:port` only (no scheme, path or query left). */
function checkHostPort(hp: string, shown: string): AddressProblem | undefined {
  let host: string;
  let port: string | undefined;
  if (hp.startsWith('[')) {
    const close = hp.indexOf(']');
    if (close === -1) return { message: `target ${shown} has an unclosed "[" around its IPv6 address`, hint: 'write IPv6 targets as [address]:port, for example [2001:db8::1]:9100' };
    host = hp.slice(1, close);
    const rest = hp.slice(close + 1);
    if (!isIPv6(host)) return { message: `target ${shown}: ${quote(host)} in brackets is not an IPv6 address`, hint: 'only IPv6 addresses go in brackets; write host names and IPv4 addresses as host:port' };
    if (rest === '') return { message: `target ${shown} has no port`, hint: `add the exporter's port: [${host}]:9100` };
    if (!rest.startsWith(':')) return { message: `target ${shown} has ${quote(rest)} after the IPv6 address`, hint: `write [${host}]:port` };
    port = rest.slice(1);
  } else {
    const colons = hp.split(':').length - 1;
    if (colons > 1) {
      const i = hp.lastIndexOf(':');
      const h = hp.slice(0, i);
      const last = hp.slice(i + 1);
      if (isIPv6(hp)) {
        const alt = isIPv6(h) && /^\d{2,5}$/.test(last) ? `, or [${h}]:${last} if ${last} is the port` : '';
        return { message: `target ${shown} is an IPv6 address without brackets`, hint: `write [${hp}]:9100 with the exporter's port${alt}` };
      }
      if (isIPv6(h)) return { message: `target ${shown}: an IPv6 address must be in brackets`, hint: `write [${h}]:${hp.slice(i + 1)}` };
      return { message: `target ${shown} is not host:port (it has ${colons} colons)`, hint: 'write host:port, with IPv6 addresses in brackets: [::1]:9100' };
    }
    if (colons === 0) return { message: `target ${shown} has no port`, hint: `add the exporter's port, for example ${hp}:9100; Prometheus would otherwise assume 80 or 443` };
    const i = hp.indexOf(':');
    host = hp.slice(0, i);
    port = hp.slice(i + 1);
    if (host === '') return { message: `target ${shown} has no host`, hint: 'write host:port' };
    if (!validHost(host)) return { message: `target ${shown}: ${quote(host)} is not a valid host name or IP address`, hint: 'host names use letters, digits, "-" and "." only; IPv4 as 10.0.0.1' };
  }
  if (port === '') return { message: `target ${shown} has an empty port`, hint: `write ${hp}9100 with the exporter's port` };
  if (!/^\d+$/.test(port)) return { message: `target ${shown}: port ${quote(port)} is not a number`, hint: 'the port is a number from 1 to 65535' };
  const n = Number(port);
  if (n < 1 || n > 65535) return { message: `target ${shown}: port ${port} is out of range (1-65535)`, hint: 'the port is a number from 1 to 65535' };
  return undefined;
}

// The common case, host.name:port, accepted without building any message (50,000 targets per run).
const PLAIN = /^([A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?)*):([1-9]\d{0,4})$/;

function plainHostPort(address: string): boolean {
  const m = PLAIN.exec(address);
  if (!m) return false;
  const host = m[1];
  if (Number(m[2]) > 65535 || host.length > 253) return false;
  if (/^[\d.]+$/.test(host)) return isIPv4(host);
  return host.length <= 63 || host.split('.').every((l) => l.length <= 63);
}

/** Why `address` is not a valid static target, or undefined when it is. Exported for tests and the CLI. */
export function checkTargetAddress(address: string): AddressProblem | undefined {
  if (plainHostPort(address)) return undefined;
  const shown = quote(redactUserinfo(address));
  if (address.length === 0) return { message: 'target is empty', hint: 'write host:port, for example node1.internal:9100' };
  if (/\s/.test(address)) {
    const trimmed = address.trim();
    const fixable = trimmed !== address && !/\s/.test(trimmed) && !checkTargetAddress(trimmed);
    return {
      message: `target ${shown} contains whitespace`,
      hint: fixable ? `write ${quote(trimmed)}` : 'one target per list item, written host:port without spaces',
    };
  }
  const url = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/.exec(address);
  let rest = url ? url[2] : address;
  let userinfo = false;
  const at = rest.search(/[/?#]/);
  const authorityEnd = at === -1 ? rest.length : at;
  const atSign = rest.lastIndexOf('@', authorityEnd);
  if (atSign !== -1) {
    userinfo = true;
    rest = rest.slice(atSign + 1);
  }
  const cut = rest.search(/[/?#]/);
  const hostPort = cut === -1 ? rest : rest.slice(0, cut);
  const tail = cut === -1 ? '' : rest.slice(cut);
  const pathPart = tail.split(/[?#]/)[0];
  const query = /\?([^#]*)/.exec(tail)?.[1] ?? '';
  if (!url && !userinfo && tail === '') return checkHostPort(hostPort, shown);

  // Something beyond host:port: explain how the job expresses it.
  const scheme = url?.[1].toLowerCase();
  let target = hostPort;
  if (!/:\d+$/.test(hostPort) && !(hostPort.startsWith('[') && /\]:\d+$/.test(hostPort)) && (scheme === 'http' || scheme === 'https')) {
    target = `${hostPort}:${scheme === 'https' ? 443 : 80}`;
  }
  const parts: string[] = [];
  if (scheme === 'https') parts.push('scheme: https');
  if (pathPart && pathPart !== '/') parts.push(`metrics_path: ${pathPart}`);
  if (query) {
    const params: Record<string, string[]> = {};
    for (const [k, v] of new URLSearchParams(query)) (params[k] ??= []).push(v);
    parts.push(`params: ${JSON.stringify(params).replace(/"/g, '')}`);
  }
  if (userinfo) parts.push('basic_auth (username, password_file)');
  const hint = `list ${quote(target)} as the target${parts.length ? ` and set ${parts.join(', ')} on the job` : ''}${scheme && scheme !== 'http' && scheme !== 'https' ? ` (scheme ${quote(scheme)} cannot be scraped; jobs use http or https)` : ''}`;
  const what = url ? 'is a URL; targets are host:port' : userinfo ? 'contains credentials (user@); targets are host:port' : tail.startsWith('/') ? 'has a path; targets are host:port' : 'has a query; targets are host:port';
  return { message: `target ${shown} ${what}`, hint };
}

export const targetAddress: Rule = {
  id: 'target-address',
  severity: 'error',
  summary: 'A static target that is not host:port: a URL, a path, whitespace, a missing or invalid port, or IPv6 without brackets.',
  scope: 'file',
  check(ctx) {
    forEachJob(ctx.repo, ({ file, job, path }) => {
      const check = (list: unknown, at: () => PathSegment[]) => {
        if (!Array.isArray(list)) return;
        for (let i = 0; i < list.length; i++) {
          const address = list[i];
          if (typeof address !== 'string') continue; // schema
          const problem = checkTargetAddress(address);
          if (problem) ctx.report({ file: file.path, path: [...at(), i], message: problem.message, hint: problem.hint });
        }
      };
      check(job.targets, () => [...path, 'targets']);
      if (Array.isArray(job.target_groups)) {
        job.target_groups.forEach((g, gi) => {
          if (isRecord(g)) check(g.targets, () => [...path, 'target_groups', gi, 'targets']);
        });
      }
    });
  },
};
