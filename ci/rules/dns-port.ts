// dns-port: DNS discovery of A, AAAA or MX records needs a `port`: those records carry only an
// address, and Prometheus refuses the configuration without one ("a port is required in DNS-SD
// configs for all record types except SRV"). SRV records carry their own port, so a port set for
// them is ignored — reported as a warning, since it suggests the wrong record type.
import type { Rule } from '../../core/compiler/rule.ts';
import { forEachJob, isRecord } from './walk.ts';
import { quote } from './format.ts';

export const dnsPort: Rule = {
  id: 'dns-port',
  severity: 'error',
  summary: 'DNS discovery of A, AAAA or MX records without a port (Prometheus refuses it), or a port on SRV records (ignored).',
  scope: 'file',
  check(ctx) {
    forEachJob(ctx.repo, ({ file, job, path }) => {
      const dns = isRecord(job.discovery) ? job.discovery.dns : undefined;
      if (!isRecord(dns)) return;
      const type = dns.type === undefined ? 'SRV' : dns.type;
      if (typeof type !== 'string') return;
      const name = quote(typeof job.name === 'string' ? job.name : '');
      const dnsPath = [...path, 'discovery', 'dns'];
      if (type !== 'SRV' && dns.port === undefined) {
        ctx.report({
          file: file.path,
          path: dns.type !== undefined ? [...dnsPath, 'type'] : dnsPath,
          message: `job ${name} discovers ${type} records without a port; only SRV records carry one`,
          hint: "add port: with the exporter's port, for example port: 9100",
        });
      } else if (type === 'SRV' && dns.port !== undefined) {
        ctx.report({
          file: file.path,
          path: [...dnsPath, 'port'],
          onKey: true,
          severity: 'warning',
          message: `job ${name} sets a port for SRV records${dns.type === undefined ? ' (the default type)' : ''}, which carry their own; it is ignored`,
          hint: 'remove port, or set type: A (or AAAA) if the names are plain host records',
        });
      }
    });
  },
};
