// Checks what an agent sent against its protocol schema (schemas.ts), compiled once per process.
// A valid message comes back typed, with unknown keys removed; an invalid one as a short reason
// naming the first offending place (`status.recent[3].result: must be one of …`), bounded in length
// because it is shown on the dashboard and in the API.
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { AgentRegistration, AgentReport, AgentStatus, AgentTargets, AgentUsage, ApplyResponse } from './agent-api.ts';
import type { CardinalityFlag } from './cardinality-flag.ts';
import { agentRegistrationSchema, agentReportSchema, agentStatusSchema, applyResponseSchema, flagsAnswerSchema, targetsAnswerSchema, usageAnswerSchema } from './schemas.ts';

export interface ProtocolMessages {
  /** POST /v1/apply answer. */
  apply: ApplyResponse;
  /** GET /v1/status answer. */
  status: AgentStatus;
  /** GET /v1/flags and POST /v1/cardinality/analyze answers. */
  flags: { flags: CardinalityFlag[] };
  /** GET /v1/usage answer. */
  usage: AgentUsage;
  /** GET /v1/targets answer. */
  targets: AgentTargets;
  /** POST /v1/agents/register body. */
  register: AgentRegistration;
  /** POST /v1/agents/report body. */
  report: AgentReport;
}

export type ProtocolMessage = keyof ProtocolMessages;

const SCHEMAS: Record<ProtocolMessage, object> = {
  apply: applyResponseSchema,
  status: agentStatusSchema,
  flags: flagsAnswerSchema,
  usage: usageAnswerSchema,
  targets: targetsAnswerSchema,
  register: agentRegistrationSchema,
  report: agentReportSchema,
};

let compiled: Record<ProtocolMessage, ValidateFunction> | null = null;

function validators(): Record<ProtocolMessage, ValidateFunction> {
  if (!compiled) {
    // removeAdditional: keys the schema does not know (a newer agent's) are dropped, never kept.
    // allErrors off: the first error is enough, and the work stays bounded on hostile input.
    const ajv = new Ajv2020({ strict: true, allErrors: false, removeAdditional: true });
    compiled = Object.fromEntries(Object.entries(SCHEMAS).map(([k, s]) => [k, ajv.compile(s)])) as Record<ProtocolMessage, ValidateFunction>;
  }
  return compiled;
}

const MAX_REASON = 300;

export type Validated<K extends ProtocolMessage> = { ok: true; value: ProtocolMessages[K] } | { ok: false; error: string };

/** Validates (and strips unknown keys from) a parsed message. */
export function validateProtocol<K extends ProtocolMessage>(kind: K, value: unknown): Validated<K> {
  const v = validators()[kind];
  if (v(value)) return { ok: true, value: value as ProtocolMessages[K] };
  return { ok: false, error: describeError(kind, v.errors?.[0]) };
}

function describeError(kind: ProtocolMessage, e: ErrorObject | undefined): string {
  if (!e) return `${kind}: does not match the protocol`;
  const where =
    kind +
    e.instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`))
      .join('');
  const allowed = e.keyword === 'enum' ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.map((x) => JSON.stringify(x)).join(', ')})` : '';
  const text = `${where}: ${e.message ?? 'is invalid'}${allowed}`;
  // Keys of the instance can be the sender's (property names in a path): keep the reason short and printable.
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > MAX_REASON ? printable.slice(0, MAX_REASON - 1) + '…' : printable;
}
