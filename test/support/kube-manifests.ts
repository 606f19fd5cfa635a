// Renders kustomizations with the real `kubectl kustomize` and checks the objects against the
// Kubernetes OpenAPI schemas, as an API server with strict field validation would:
// - kubernetes-models' validators (generated from the OpenAPI definitions) check types, formats,
//   enums and required properties;
// - they ignore properties the schema does not declare, so unknown fields are found by walking
//   each object along @kubernetes/client-node's attribute type maps (generated from the same
//   OpenAPI definitions), the way `kubectl apply --validate=strict` refuses them.
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import * as k8s from '@kubernetes/client-node';
import { Namespace, Secret, ConfigMap, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { Role, RoleBinding, ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
};

type Validatable = { validate(): void };

/** Every kind the manifests may hold: its model (types, required) and client-node's type map name. */
const KINDS: Record<string, { make: (o: object) => Validatable; typeName: string }> = {
  'v1/Namespace': { make: (o) => new Namespace(o as never), typeName: 'V1Namespace' },
  'v1/Secret': { make: (o) => new Secret(o as never), typeName: 'V1Secret' },
  'v1/ConfigMap': { make: (o) => new ConfigMap(o as never), typeName: 'V1ConfigMap' },
  'v1/Service': { make: (o) => new Service(o as never), typeName: 'V1Service' },
  'v1/ServiceAccount': { make: (o) => new ServiceAccount(o as never), typeName: 'V1ServiceAccount' },
  'apps/v1/Deployment': { make: (o) => new Deployment(o as never), typeName: 'V1Deployment' },
  'apps/v1/StatefulSet': { make: (o) => new StatefulSet(o as never), typeName: 'V1StatefulSet' },
  'policy/v1/PodDisruptionBudget': { make: (o) => new PodDisruptionBudget(o as never), typeName: 'V1PodDisruptionBudget' },
  'networking.k8s.io/v1/NetworkPolicy': { make: (o) => new NetworkPolicy(o as never), typeName: 'V1NetworkPolicy' },
  'rbac.authorization.k8s.io/v1/Role': { make: (o) => new Role(o as never), typeName: 'V1Role' },
  'rbac.authorization.k8s.io/v1/RoleBinding': { make: (o) => new RoleBinding(o as never), typeName: 'V1RoleBinding' },
  'rbac.authorization.k8s.io/v1/ClusterRole': { make: (o) => new ClusterRole(o as never), typeName: 'V1ClusterRole' },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': { make: (o) => new ClusterRoleBinding(o as never), typeName: 'V1ClusterRoleBinding' },
};

/**
 * Why kubectl cannot render the manifests here, or null when it can: it must run, and its built-in
 * kustomize must be v5 or later (the `labels` transformer; Debian's kubectl 1.20 has kustomize v2).
 */
export function kubectlUnavailable(): string | null {
  let out: string;
  try {
    out = execFileSync('kubectl', ['version', '--client'], { encoding: 'utf8', stdio: 'pipe', timeout: 30_000 });
  } catch (err) {
    return `kubectl is not usable on this machine (${(err as Error).message.split('\n')[0]}); .ci/run installs it where an apt source offers it`;
  }
  const kustomize = /Kustomize Version: v(\d+)/.exec(out);
  if (!kustomize || Number(kustomize[1]) < 5) return `kubectl's kustomize is older than v5 (${out.trim().replace(/\n/g, '; ')}); the manifests need v5`;
  return null;
}

/** `kubectl kustomize DIR`, parsed; a YAML error names the rendered document. */
export function kustomize(dir: string): KubeObject[] {
  const text = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return parseAllDocuments(text).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`kubectl kustomize ${dir}: document ${i + 1}: ${doc.errors[0]!.message}`);
    return doc.toJS() as KubeObject;
  });
}

export function objectId(o: KubeObject): string {
  return `${o.kind}/${o.metadata?.name ?? '?'}`;
}

/** Every schema violation of one object, each as "Kind/name: path: message"; empty when valid. */
export function schemaErrors(o: KubeObject): string[] {
  const kind = KINDS[`${o.apiVersion}/${o.kind}`];
  if (!kind) return [`${objectId(o)}: no schema known for apiVersion ${o.apiVersion} kind ${o.kind}`];
  const errors: string[] = [];
  try {
    kind.make(secretDataUnwrapped(o)).validate();
  } catch (err) {
    const list = (err as { errors?: Array<{ instancePath: string; message?: string }> }).errors;
    if (list && list.length > 0) for (const e of list) errors.push(`${objectId(o)}: ${e.instancePath || '/'}: ${e.message}`);
    else errors.push(`${objectId(o)}: ${(err as Error).message}`);
  }
  unknownFields(o, kind.typeName, '', (path) => errors.push(`${objectId(o)}: ${path}: unknown field (not in the ${kind.typeName} schema)`));
  return errors;
}

// kustomize wraps the base64 of long Secret values at 70 characters. The API server decodes
// `format: byte` with Go's base64 decoder, which skips line breaks, so it accepts them; the
// generated validator's pattern does not. Unwrap before validating, as the server's decoder would.
function secretDataUnwrapped(o: KubeObject): KubeObject {
  const data = o.kind === 'Secret' ? (o as { data?: unknown }).data : undefined;
  if (!data || typeof data !== 'object') return o;
  const unwrapped = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, typeof v === 'string' ? v.replace(/[\r\n]/g, '') : v]));
  return { ...o, data: unwrapped };
}

const SCALAR_TYPES = new Set(['string', 'number', 'boolean', 'Date', 'any', 'object', 'IntOrString']);

type AttributeMap = Array<{ baseName: string; type: string }>;

function attributeMap(typeName: string): AttributeMap | undefined {
  const model = (k8s as unknown as Record<string, { attributeTypeMap?: AttributeMap } | undefined>)[typeName];
  return model?.attributeTypeMap;
}

function unknownFields(value: unknown, typeName: string, path: string, report: (path: string) => void): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(typeName);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, array[1]!, `${path}/${i}`, report));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(typeName);
  if (map) {
    if (typeof value === 'object') for (const [k, v] of Object.entries(value)) unknownFields(v, map[1]!, `${path}/${k}`, report);
    return;
  }
  const attributes = attributeMap(typeName);
  // Primitives, IntOrString and free-form objects: nothing to walk (types are the validators' job).
  // Any other name must be a model: a type map that cannot be found would silently check nothing.
  if (!attributes) {
    if (!SCALAR_TYPES.has(typeName)) throw new Error(`client-node has no type map for ${typeName} (at ${path || '/'})`);
    return;
  }
  if (typeof value !== 'object' || Array.isArray(value)) return;
  const known = new Map(attributes.map((a) => [a.baseName, a.type]));
  for (const [key, v] of Object.entries(value)) {
    const type = known.get(key);
    if (type === undefined) report(`${path}/${key}`);
    else unknownFields(v, type, `${path}/${key}`, report);
  }
}

/** Label selector semantics (matchLabels and matchExpressions), as the API server applies them. */
export function selectorMatches(
  selector: { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> } | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const ok =
      e.operator === 'Exists' ? has
      : e.operator === 'DoesNotExist' ? !has
      : e.operator === 'In' ? has && (e.values ?? []).includes(l[e.key]!)
      : e.operator === 'NotIn' ? !has || !(e.values ?? []).includes(l[e.key]!)
      : false;
    if (!ok) return false;
  }
  return true;
}

/**
 * What `promshard <command> --help` says about its flags: each listed long flag, whether it takes a
 * value (a placeholder one space after it, as in `--repo URL_OR_PATH`), and those the usage line
 * requires.
 */
export function helpFlags(command: string, cliPath: string): { text: string; takesValue: Map<string, boolean>; required: Set<string> } {
  const text = execFileSync(process.execPath, [cliPath, command, '--help'], { encoding: 'utf8', timeout: 60_000 });
  const takesValue = new Map<string, boolean>();
  for (const m of text.matchAll(/^\s+(--[a-z0-9][a-z0-9-]*)( \S)?/gm)) takesValue.set(m[1]!, m[2] !== undefined);
  const usage = text.split('\n\n')[0] ?? '';
  const withoutOptional = usage.replace(/\[[^\]]*\]/g, '');
  const required = new Set([...withoutOptional.matchAll(/--[a-z0-9][a-z0-9-]*/g)].map((m) => m[0]));
  return { text, takesValue, required };
}
