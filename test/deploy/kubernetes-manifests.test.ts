// The Kubernetes manifests (deploy/kubernetes/): rendered with the real `kubectl kustomize`, every
// object validated against the Kubernetes OpenAPI schemas, and the invariants the deployment relies
// on checked on the rendered objects. No cluster runs here (see FIELD-NOTES), so nothing is applied.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, mkdtempSync, cpSync, appendFileSync, writeFileSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';
import { kubectlUnavailable, kustomize, schemaErrors, selectorMatches, helpFlags, objectId, type KubeObject } from '../support/kube-manifests.ts';
import { verifyAgentToken, adminTokenDigest } from '../../core/http/agent-credential.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const deploy = join(root, 'deploy', 'kubernetes');
const cli = join(root, 'bin', 'promshard.mjs');
const skip = kubectlUnavailable() ?? false;

type Probe = { httpGet?: { path: string; port: number | string } };
type Port = { name?: string; containerPort: number };
type Container = {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Port[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string; subPathExpr?: string; readOnly?: boolean }>;
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
};
type PodSpec = {
  serviceAccountName?: string;
  securityContext?: { runAsNonRoot?: boolean };
  initContainers?: Container[];
  containers: Container[];
  volumes?: Array<{ name: string; secret?: { secretName: string } }>;
};
type Workload = KubeObject & {
  spec: { replicas?: number; selector: { matchLabels?: Record<string, string> }; template: { metadata: { labels?: Record<string, string> }; spec: PodSpec } };
};
type Rule = { apiGroups?: string[]; resources?: string[]; verbs: string[] };

const workloads = (objs: KubeObject[]) => objs.filter((o): o is Workload => o.kind === 'Deployment' || o.kind === 'StatefulSet');
const byKind = (objs: KubeObject[], kind: string) => objs.filter((o) => o.kind === kind);
const one = (objs: KubeObject[], kind: string, name: string) => {
  const found = objs.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind}/${name} is rendered`);
  return found;
};
const controllerOf = (objs: KubeObject[]) => one(objs, 'Deployment', 'promshard-controller') as Workload;
const container = (w: Workload, name: string) => {
  const c = w.spec.template.spec.containers.find((x) => x.name === name);
  assert.ok(c, `${objectId(w)} has a container ${name}`);
  return c;
};
const flagsOf = (args: string[]) => args.filter((a) => a.startsWith('--')).map((a) => ({ flag: a.split('=')[0]!, hasValue: a.includes('=') }));

const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8').trim();

/**
 * What keeps a shard's pods from holding their own credential: for every StatefulSet, each ordinal
 * below `replicas` needs a key replica-<N> in the Secret behind the agent's token mount, holding a
 * credential that verifies for that shard and replica.
 */
function replicaCredentialProblems(objs: KubeObject[], agentSecret: string): string[] {
  const problems: string[] = [];
  for (const s of byKind(objs, 'StatefulSet') as Workload[]) {
    const shard = s.spec.template.metadata.labels?.['promshard.io/shard'];
    const agent = s.spec.template.spec.containers.find((c) => c.name === 'agent');
    const tokenFile = agent?.args?.find((a) => a.startsWith('--token-file='))?.split('=')[1];
    const mount = agent?.volumeMounts?.find((m) => m.mountPath === tokenFile);
    const secretName = s.spec.template.spec.volumes?.find((v) => v.name === mount?.name)?.secret?.secretName;
    const secret = objs.find((o) => o.kind === 'Secret' && o.metadata.name === secretName) as (KubeObject & { data?: Record<string, string> }) | undefined;
    if (!secret) {
      problems.push(`${objectId(s)}: the agent's token file is not mounted from a rendered Secret`);
      continue;
    }
    for (let ordinal = 0; ordinal < (s.spec.replicas ?? 1); ordinal++) {
      const token = secret.data?.[`replica-${ordinal}`];
      if (!token) problems.push(`${objectId(s)}: Secret ${secretName} has no key replica-${ordinal}: pod ${s.metadata.name}-${ordinal} cannot come up`);
      else {
        const scope = verifyAgentToken(decode(token), agentSecret);
        if (scope?.shard !== shard || scope?.replica !== String(ordinal)) problems.push(`${objectId(s)}: replica-${ordinal} is not shard ${shard} replica ${ordinal}'s credential (${JSON.stringify(scope)})`);
      }
    }
  }
  return problems;
}

type Peer = { podSelector?: Parameters<typeof selectorMatches>[0]; namespaceSelector?: unknown; ipBlock?: unknown };
type NetworkPolicyObject = KubeObject & {
  spec: {
    podSelector: Parameters<typeof selectorMatches>[0];
    policyTypes?: string[];
    ingress: Array<{ from?: Peer[]; ports?: Array<{ port?: string | number; endPort?: number }> }>;
  };
};

/** Every probe is HTTP on a port its own container declares; readiness and liveness both present. */
function probeProblems(objs: KubeObject[]): string[] {
  const problems: string[] = [];
  for (const w of workloads(objs)) {
    for (const c of w.spec.template.spec.containers) {
      const where = `${objectId(w)} ${c.name}`;
      if (!c.readinessProbe) problems.push(`${where}: no readiness probe`);
      if (!c.livenessProbe) problems.push(`${where}: no liveness probe`);
      for (const p of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
        if (!p) continue;
        const port = p.httpGet?.port;
        if (port === undefined) problems.push(`${where}: a probe is not an HTTP probe`);
        else if (!(c.ports ?? []).some((x) => (typeof port === 'number' ? x.containerPort === port : x.name === port))) problems.push(`${where}: probe port ${port} is not declared by the container`);
      }
    }
  }
  return problems;
}

/**
 * NetworkPolicy semantics for the agent port of every shard pod: the pod must be selected by at least
 * one Ingress policy (else it is open), and every rule of every policy selecting it that covers the
 * port (no ports = all ports; a named port; a number or a number range) may admit controller pods of
 * this namespace only.
 */
function agentIngressProblems(objs: KubeObject[]): string[] {
  const problems: string[] = [];
  const policies = byKind(objs, 'NetworkPolicy') as NetworkPolicyObject[];
  const controllerLabels = controllerOf(objs).spec.template.metadata.labels;
  for (const s of byKind(objs, 'StatefulSet') as Workload[]) {
    const labels = s.spec.template.metadata.labels;
    const port = s.spec.template.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === 'promshard-agent');
    if (!port) {
      problems.push(`${objectId(s)}: no container port named promshard-agent`);
      continue;
    }
    const selecting = policies.filter((p) => (p.spec.policyTypes ?? ['Ingress']).includes('Ingress') && selectorMatches(p.spec.podSelector, labels));
    if (selecting.length === 0) problems.push(`${objectId(s)}: no NetworkPolicy selects its pods: anyone can reach the agent port`);
    for (const p of selecting) {
      for (const rule of p.spec.ingress ?? []) {
        const covers = !rule.ports || rule.ports.length === 0 || rule.ports.some((x) =>
          x.port === undefined || x.port === port.name || (typeof x.port === 'number' && port.containerPort >= x.port && port.containerPort <= (x.endPort ?? x.port)));
        if (!covers) continue;
        const where = `${objectId(p)} (for ${objectId(s)})`;
        if (!rule.from || rule.from.length === 0) problems.push(`${where}: a rule admits the agent port from anyone`);
        for (const peer of rule.from ?? []) {
          if (peer.ipBlock !== undefined) problems.push(`${where}: a rule admits the agent port from an address range`);
          else if (peer.namespaceSelector !== undefined) problems.push(`${where}: a rule admits the agent port from another namespace`);
          else if (!selectorMatches(peer.podSelector, controllerLabels) || selectorMatches(peer.podSelector, labels)) problems.push(`${where}: a rule admits pods that are not controllers to the agent port`);
        }
      }
    }
  }
  return problems;
}

// Cannot be built here (no container engine); these are the facts about it the manifests rely on.
describe('deploy/kubernetes/Dockerfile (static checks; the image is never built here)', () => {
  const dockerfile = readFileSync(join(deploy, 'Dockerfile'), 'utf8');

  test('copies every source folder the launcher watches, and builds the bundle after copying them', () => {
    const launcher = readFileSync(join(root, 'bin', 'promshard.mjs'), 'utf8');
    const dirs = /const SOURCE_DIRS = \[([^\]]*)\]/.exec(launcher)?.[1]?.match(/'[^']+'/g)?.map((d) => d.slice(1, -1));
    assert.ok(dirs && dirs.length > 0, 'SOURCE_DIRS found in bin/promshard.mjs');
    const copied = new Set([...dockerfile.matchAll(/^COPY (\S+) \.\/\S*$/gm)].map((m) => m[1]));
    for (const d of [...dirs, 'bin']) assert.ok(copied.has(d), `the Dockerfile copies ${d}/`);
    const lastSourceCopy = Math.max(...dirs.map((d) => dockerfile.indexOf(`COPY ${d} `)));
    assert.ok(dockerfile.indexOf('RUN node bin/build-bundle.mjs') > lastSourceCopy, 'the bundle is built after the sources are in place (so the launcher runs it)');
    assert.match(dockerfile, /^USER 65534:65534$/m, 'runs as the user the pods run as');
  });

  test('promtool comes from the same Prometheus release the shard StatefulSet runs, at the agent\'s default path', () => {
    const from = /^FROM (prom\/prometheus:\S+) AS prometheus$/m.exec(dockerfile)?.[1];
    assert.ok(from, 'a prometheus stage');
    assert.match(readFileSync(join(deploy, 'shard', 'statefulset.yaml'), 'utf8'), new RegExp(`image: ${from.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\n`));
    assert.match(dockerfile, /^COPY --from=prometheus \/bin\/promtool \/usr\/bin\/promtool$/m);
  });
});

describe('Kubernetes manifests (rendered with kubectl kustomize; no cluster)', { skip }, () => {
  let base: KubeObject[];
  let overlay: KubeObject[];
  before(() => {
    base = [...kustomize(join(deploy, 'base')), ...kustomize(join(deploy, 'shard'))];
    overlay = kustomize(join(deploy, 'overlays', 'example'));
  });

  test('every object of the base, the shard base and the example overlay fits the Kubernetes OpenAPI schemas', () => {
    for (const [name, objs] of [['base', base], ['overlay', overlay]] as const) {
      assert.ok(objs.length > 0, `${name} renders objects`);
      const errors = objs.flatMap(schemaErrors);
      assert.deepEqual(errors, [], `${name}: schema violations`);
    }
    const kinds = new Set(overlay.map((o) => o.kind));
    for (const k of ['Namespace', 'ServiceAccount', 'Role', 'RoleBinding', 'Deployment', 'Service', 'PodDisruptionBudget', 'StatefulSet', 'NetworkPolicy', 'Secret', 'ConfigMap']) {
      assert.ok(kinds.has(k), `the overlay renders a ${k}`);
    }
    for (const o of overlay) if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, 'promshard', `${objectId(o)} is in the overlay's namespace`);
  });

  test('a broken object fails validation: wrong type, unknown field, missing required property (and the unbroken one passes)', () => {
    const good = controllerOf(overlay);
    assert.deepEqual(schemaErrors(good), []);
    const broken = (mutate: (d: Workload) => void) => {
      const d = structuredClone(good);
      mutate(d);
      return schemaErrors(d);
    };
    const wrongType = broken((d) => { (d.spec as Record<string, unknown>).replicas = 'two'; });
    assert.ok(wrongType.some((e) => e.includes('/spec/replicas') && e.includes('must be integer')), wrongType.join('\n'));
    const unknown = broken((d) => { (d.spec.template.spec.containers[0] as Record<string, unknown>).livenesProbe = { httpGet: { path: '/healthz', port: 'http' } }; });
    assert.ok(unknown.some((e) => e.includes('/spec/template/spec/containers/0/livenesProbe: unknown field')), unknown.join('\n'));
    const nested = broken((d) => { (d.spec.template.spec.containers[0]!.ports![0] as Record<string, unknown>).hostIp = '0.0.0.0'; });
    assert.ok(nested.some((e) => e.includes('/ports/0/hostIp: unknown field')), nested.join('\n'));
    const missing = broken((d) => { delete (d.spec.template.spec.containers[0] as Partial<Container>).name; });
    assert.ok(missing.some((e) => e.includes('/spec/template/spec/containers/0') && e.includes('required property') && e.includes('name')), missing.join('\n'));
    const badEnum = broken((d) => { (d.spec.template.spec.containers[0]!.ports![0] as Record<string, unknown>).protocol = 'HTTP'; });
    assert.ok(badEnum.some((e) => e.includes('/ports/0/protocol')), badEnum.join('\n'));
    const secret = overlay.find((o) => o.kind === 'Secret')!;
    assert.deepEqual(schemaErrors(secret), []);
    const badBytes = schemaErrors({ ...secret, data: { token: 'not base64!' } } as KubeObject);
    assert.ok(badBytes.some((e) => e.includes('/data/token') && e.includes('byte')), badBytes.join('\n'));
    // Free-form maps (labels) take any key: not an unknown field.
    assert.deepEqual(broken((d) => { d.metadata.labels = { ...d.metadata.labels, 'example.com/anything': 'x' }; }), []);
    assert.deepEqual(schemaErrors({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }), ['Widget/w: no schema known for apiVersion example.com/v1 kind Widget']);
  });

  test('every probe of every Deployment and StatefulSet points at a port its container declares (and a probe on an undeclared port is caught)', () => {
    assert.deepEqual(probeProblems(base), []);
    assert.deepEqual(probeProblems(overlay), []);
    const controller = container(controllerOf(overlay), 'controller');
    assert.equal(controller.readinessProbe?.httpGet?.path, '/healthz');
    assert.equal(controller.livenessProbe?.httpGet?.path, '/healthz');
    const broken = structuredClone(overlay);
    const agent = container(byKind(broken, 'StatefulSet')[0] as Workload, 'agent');
    agent.readinessProbe!.httpGet!.port = 'metrics';
    delete agent.livenessProbe;
    assert.deepEqual(probeProblems(broken), [
      'StatefulSet/prometheus-networking agent: no liveness probe',
      'StatefulSet/prometheus-networking agent: probe port metrics is not declared by the container',
    ]);
  });

  test('the controller: 2 replicas, leader-elected, a PodDisruptionBudget keeps one, hardened pod, resources', () => {
    const d = controllerOf(overlay);
    assert.equal(d.spec.replicas, 2);
    const c = container(d, 'controller');
    assert.ok(c.args?.includes('--leader-elect'), 'leader election is on');
    assert.ok(c.args?.includes('--kubernetes'), 'Kubernetes discovery is on');
    // Discovery finds every shard pod: promshard.io/shard ANDed with --agent-selector (equality terms).
    const extra = c.args?.find((a) => a.startsWith('--agent-selector='))?.slice('--agent-selector='.length);
    const matchLabels = Object.fromEntries((extra ? extra.split(',') : []).map((term) => term.split('=') as [string, string]));
    for (const s of byKind(overlay, 'StatefulSet') as Workload[]) {
      assert.ok(selectorMatches({ matchLabels, matchExpressions: [{ key: 'promshard.io/shard', operator: 'Exists' }] }, s.spec.template.metadata.labels), `discovery selects ${objectId(s)}'s pods`);
    }
    assert.ok(!selectorMatches({ matchLabels, matchExpressions: [{ key: 'promshard.io/shard', operator: 'Exists' }] }, d.spec.template.metadata.labels), 'discovery does not take controller pods for agents');
    const pdb = one(overlay, 'PodDisruptionBudget', 'promshard-controller') as KubeObject & { spec: { minAvailable?: number; selector: { matchLabels?: Record<string, string> } } };
    assert.equal(pdb.spec.minAvailable, 1);
    assert.ok(selectorMatches(pdb.spec.selector, d.spec.template.metadata.labels), 'the PDB selects the controller pods');
    const svc = one(overlay, 'Service', 'promshard-controller') as KubeObject & { spec: { selector: Record<string, string>; ports: Array<{ port: number; targetPort: string }> } };
    assert.ok(selectorMatches({ matchLabels: svc.spec.selector }, d.spec.template.metadata.labels), 'the Service selects the controller pods');
    assert.ok(svc.spec.ports.every((p) => c.ports?.some((x) => x.name === p.targetPort)), 'the Service targets a declared port');
    for (const w of workloads(overlay)) {
      assert.equal(w.spec.template.spec.securityContext?.runAsNonRoot, true, `${objectId(w)}: non-root`);
      for (const x of [...(w.spec.template.spec.initContainers ?? []), ...w.spec.template.spec.containers]) {
        assert.equal(x.securityContext?.readOnlyRootFilesystem, true, `${objectId(w)} ${x.name}: read-only root file system`);
        assert.equal(x.securityContext?.allowPrivilegeEscalation, false, `${objectId(w)} ${x.name}: no privilege escalation`);
        assert.deepEqual(x.securityContext?.capabilities?.drop, ['ALL'], `${objectId(w)} ${x.name}: drops every capability`);
        assert.ok(x.resources?.requests?.cpu && x.resources.requests.memory && x.resources.limits?.memory, `${objectId(w)} ${x.name}: requests and a memory limit`);
      }
    }
  });

  test('RBAC: the controller ServiceAccount gets exactly leases get/create/update, pods list/watch, events create/update, all namespaced', () => {
    const sa = one(overlay, 'ServiceAccount', 'promshard-controller');
    assert.equal(controllerOf(overlay).spec.template.spec.serviceAccountName, sa.metadata.name);
    assert.deepEqual(byKind(overlay, 'ClusterRole'), [], 'no ClusterRole in the example (one namespace)');
    assert.deepEqual(byKind(overlay, 'ClusterRoleBinding'), []);
    const bindings = byKind(overlay, 'RoleBinding') as Array<KubeObject & { roleRef: { kind: string; name: string }; subjects: Array<{ kind: string; name: string; namespace?: string }> }>;
    const granted: string[] = [];
    for (const b of bindings) {
      assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: 'promshard' }], `${objectId(b)} binds only the controller's ServiceAccount`);
      assert.equal(b.roleRef.kind, 'Role');
      const role = one(overlay, 'Role', b.roleRef.name) as KubeObject & { rules: Rule[] };
      for (const r of role.rules) {
        for (const g of r.apiGroups ?? []) for (const res of r.resources ?? []) for (const v of r.verbs) granted.push(`${g || 'core'}/${res}:${v}`);
      }
    }
    assert.deepEqual(granted.sort(), [
      'coordination.k8s.io/leases:create', 'coordination.k8s.io/leases:get', 'coordination.k8s.io/leases:update',
      'core/events:create', 'core/events:update',
      'core/pods:list', 'core/pods:watch',
    ]);
    const roles = byKind(overlay, 'Role') as Array<KubeObject & { rules: Rule[] }>;
    for (const r of roles) for (const rule of r.rules) assert.ok(!JSON.stringify(rule).includes('*'), `${objectId(r)}: no wildcard`);
  });

  test('RBAC grants exactly the API calls the controller\'s Kubernetes code makes (central-controller/kubernetes/)', () => {
    const dir = join(root, 'central-controller', 'kubernetes');
    const verbOf: Record<string, string> = { read: 'get', list: 'list', create: 'create', replace: 'update', patch: 'patch', delete: 'delete' };
    const groupOf: Record<string, string> = { Lease: 'coordination.k8s.io', Event: 'core', Pod: 'core' };
    const used = new Map<string, string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(dir, file), 'utf8');
      for (const m of text.matchAll(/\b(read|list|create|replace|patch|delete)Namespaced([A-Z][A-Za-z]*?)(Status)?\(/g)) {
        const kind = m[2]!;
        assert.ok(groupOf[kind], `${file}: ${m[0]} touches ${kind}, which the manifests' RBAC does not know; grant it in deploy/kubernetes/base/rbac.yaml and here`);
        used.set(`${groupOf[kind]}/${kind.toLowerCase()}s:${verbOf[m[1]!]}`, file);
      }
      for (const m of text.matchAll(/\.watch\(\s*`\/api\/v1\/namespaces\/\$\{[^}]*\}\/([a-z]+)`/g)) used.set(`core/${m[1]}:watch`, file);
    }
    const granted: string[] = [];
    for (const role of byKind(overlay, 'Role') as Array<KubeObject & { rules: Rule[] }>) {
      for (const r of role.rules) for (const g of r.apiGroups ?? []) for (const res of r.resources ?? []) for (const v of r.verbs) granted.push(`${g || 'core'}/${res}:${v}`);
    }
    assert.deepEqual([...used.keys()].sort(), granted.sort(), `calls made (${JSON.stringify(Object.fromEntries(used))}) = verbs granted`);
  });

  test('the NetworkPolicies select every agent pod and let only controller pods reach the agent port (and each way of opening it is caught)', () => {
    assert.equal(byKind(overlay, 'StatefulSet').length, 2, 'two shards in the example');
    assert.deepEqual(agentIngressProblems(overlay), []);
    const np = one(overlay, 'NetworkPolicy', 'promshard-shards') as NetworkPolicyObject;
    assert.ok(!selectorMatches(np.spec.podSelector, controllerOf(overlay).spec.template.metadata.labels), 'the policy does not isolate the controller');
    const mutated = (mutate: (np: NetworkPolicyObject, objs: KubeObject[]) => void) => {
      const objs = structuredClone(overlay);
      mutate(objs.find((o) => o.kind === 'NetworkPolicy') as NetworkPolicyObject, objs);
      return agentIngressProblems(objs);
    };
    const ns = mutated((p) => { p.spec.ingress[0]!.from!.push({ namespaceSelector: {} }); });
    assert.ok(ns.some((e) => e.includes('from another namespace')), ns.join('\n'));
    const open = mutated((p) => { p.spec.ingress.push({}); });
    assert.ok(open.some((e) => e.includes('from anyone')), open.join('\n'));
    const everyPod = mutated((p) => { p.spec.ingress[0]!.from = [{ podSelector: {} }]; });
    assert.ok(everyPod.some((e) => e.includes('admits pods that are not controllers')), everyPod.join('\n'));
    const byNumber = mutated((p) => { p.spec.ingress.push({ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }], ports: [{ port: 9000, endPort: 9999 }] }); });
    assert.ok(byNumber.some((e) => e.includes('from an address range')), byNumber.join('\n'));
    const another = mutated((_p, objs) => {
      objs.push({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'allow-all', namespace: 'promshard' }, spec: { podSelector: {}, ingress: [{}] } } as KubeObject);
    });
    assert.ok(another.some((e) => e.startsWith('NetworkPolicy/allow-all')), another.join('\n'));
    const unselected = mutated((p) => { p.spec.podSelector = { matchLabels: { 'promshard.io/shard': 'networking' } }; });
    assert.deepEqual(unselected, ['StatefulSet/prometheus-storage: no NetworkPolicy selects its pods: anyone can reach the agent port']);
  });

  test('the shard StatefulSets: 2 replicas, a TSDB claim, a headless Service, shared config volume, reload over localhost, named as the controller\'s Events expect', () => {
    // The StatefulSet the leader records Events on: --shard-statefulset, else its default from --help.
    const given = container(controllerOf(overlay), 'controller').args?.find((a) => a.startsWith('--shard-statefulset='))?.split('=')[1];
    const eventsPattern = given ?? /--shard-statefulset[\s\S]*?\(default ([^)\s]+)\)/.exec(helpFlags('controller', cli).text)?.[1];
    assert.ok(eventsPattern?.includes('{shard}'), `the Events' StatefulSet pattern is known (${eventsPattern})`);
    for (const s of byKind(overlay, 'StatefulSet') as Array<Workload & { spec: { serviceName: string; volumeClaimTemplates: Array<{ metadata: { name: string } }> } }>) {
      const shard = s.spec.template.metadata.labels?.['promshard.io/shard'];
      assert.ok(shard && shard !== 'change-me', `${objectId(s)}: the shard label is set by the overlay`);
      assert.equal(s.metadata.name, `prometheus-${shard}`);
      assert.equal(s.metadata.name, eventsPattern!.replace('{shard}', shard), 'the controller records its rollout Events on this StatefulSet');
      assert.equal(s.spec.replicas, 2);
      assert.deepEqual(s.spec.volumeClaimTemplates.map((v) => v.metadata.name), ['tsdb']);
      const svc = one(overlay, 'Service', s.spec.serviceName) as KubeObject & { spec: { clusterIP?: string; selector: Record<string, string> } };
      assert.equal(svc.spec.clusterIP, 'None', 'the governing Service is headless');
      assert.ok(selectorMatches({ matchLabels: svc.spec.selector }, s.spec.template.metadata.labels));
      assert.ok(!selectorMatches({ matchLabels: svc.spec.selector }, (one(overlay, 'StatefulSet', s.metadata.name === 'prometheus-networking' ? 'prometheus-storage' : 'prometheus-networking') as Workload).spec.template.metadata.labels), 'a shard Service selects only its own shard');
      const prom = container(s, 'prometheus');
      const agent = container(s, 'agent');
      assert.ok(prom.args?.includes('--web.enable-lifecycle'), 'Prometheus accepts POST /-/reload');
      // The replica external label of a remote-writing shard: Prometheus expands PROMSHARD_REPLICA,
      // which must be the agent's --replica, or the agent's reload proof fails (docs/operations.md).
      assert.ok(prom.args?.includes('--enable-feature=expand-external-labels'), 'Prometheus expands ${PROMSHARD_REPLICA} in external_labels');
      const envOf = (c: Container, name: string) => c.env?.find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath;
      assert.ok(agent.args?.includes('--replica=$(PROMSHARD_REPLICA)'));
      assert.ok(envOf(prom, 'PROMSHARD_REPLICA'), 'Prometheus has PROMSHARD_REPLICA');
      assert.equal(envOf(prom, 'PROMSHARD_REPLICA'), envOf(agent, 'PROMSHARD_REPLICA'), "Prometheus's replica name is the agent's");
      const configFile = prom.args?.find((a) => a.startsWith('--config.file='))?.split('=')[1];
      assert.equal(agent.args?.find((a) => a.startsWith('--config-file='))?.split('=')[1], configFile, 'the agent writes the file Prometheus reads');
      const mountAt = (c: Container, path: string) => c.volumeMounts?.find((m) => m.mountPath === path);
      const configDir = dirname(configFile!);
      const promConfig = mountAt(prom, configDir);
      const agentConfig = mountAt(agent, configDir);
      assert.ok(promConfig && agentConfig, `both containers mount ${configDir}`);
      assert.deepEqual([agentConfig.name, agentConfig.subPath], [promConfig.name, promConfig.subPath], 'the same volume and directory');
      assert.equal(promConfig.readOnly, true, 'Prometheus only reads its configuration');
      assert.ok(!agentConfig.readOnly, 'the agent writes it');
      // Configuration, agent state and TSDB persist together on the replica's claim.
      const claims = new Set(s.spec.volumeClaimTemplates.map((v) => v.metadata.name));
      const stateDir = agent.args?.find((a) => a.startsWith('--state-dir='))?.split('=')[1];
      assert.ok(claims.has(promConfig.name), 'the configuration is on the claim');
      assert.ok(claims.has(mountAt(agent, stateDir!)?.name ?? ''), 'the agent state is on the claim');
      assert.ok(claims.has(mountAt(prom, prom.args!.find((a) => a.startsWith('--storage.tsdb.path='))!.split('=')[1]!)?.name ?? ''), 'the TSDB is on the claim');
      // The kubelet creates a missing subPath directory as root (mode 0755), which the agent could not
      // write; so an init container running as the pod's user creates every one first.
      const init = s.spec.template.spec.initContainers ?? [];
      const prepared = new Set<string>();
      for (const c of init) {
        const script = (c.command ?? []).join(' ');
        for (const m of c.volumeMounts ?? []) {
          if (m.subPath || m.subPathExpr) continue;
          for (const dir of script.matchAll(new RegExp(`${m.mountPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/([\\w.-]+)`, 'g'))) prepared.add(`${m.name}/${dir[1]}`);
        }
      }
      for (const c of [prom, agent]) {
        for (const m of c.volumeMounts ?? []) if (m.subPath && claims.has(m.name)) assert.ok(prepared.has(`${m.name}/${m.subPath}`), `${c.name}: subPath ${m.subPath} of ${m.name} is created by an init container`);
      }
      const webPort = prom.ports?.find((p) => p.name === 'web')?.containerPort;
      assert.equal(agent.args?.find((a) => a.startsWith('--prometheus-url=')), `--prometheus-url=http://127.0.0.1:${webPort}`, 'the agent reaches Prometheus over localhost');
      assert.ok(agent.args?.includes('--reload=http'));
    }
  });

  test('every $(VAR) in args and subPathExpr is defined in the container env, and the agent finds the controller Service', () => {
    for (const w of workloads(overlay)) {
      for (const c of [...(w.spec.template.spec.initContainers ?? []), ...w.spec.template.spec.containers]) {
        const defined = new Set((c.env ?? []).map((e) => e.name));
        const used = [...(c.args ?? []), ...(c.volumeMounts ?? []).map((m) => m.subPathExpr ?? '')].flatMap((a) => [...a.matchAll(/\$\(([A-Z_][A-Z0-9_]*)\)/g)].map((m) => m[1]!));
        for (const v of used) assert.ok(defined.has(v), `${objectId(w)} ${c.name}: $(${v}) is defined`);
      }
    }
    const svc = one(overlay, 'Service', 'promshard-controller') as KubeObject & { spec: { ports: Array<{ port: number }> } };
    for (const s of byKind(overlay, 'StatefulSet') as Workload[]) {
      const url = container(s, 'agent').args?.find((a) => a.startsWith('--controller='))?.split('=')[1];
      assert.equal(url, `http://${svc.metadata.name}:${svc.spec.ports[0]!.port}`);
      const env = container(s, 'agent').env ?? [];
      assert.equal(env.find((e) => e.name === 'PROMSHARD_SHARD')?.valueFrom?.fieldRef?.fieldPath, "metadata.labels['promshard.io/shard']");
    }
  });

  test('each shard Secret holds a credential for every replica ordinal, valid for that shard and replica (placeholder secret), mounted by the ordinal', () => {
    const overlayDir = join(deploy, 'overlays', 'example');
    const agentSecret = readFileSync(join(overlayDir, 'secrets', 'agent-secret'), 'utf8').trim();
    const adminToken = readFileSync(join(overlayDir, 'secrets', 'admin-token'), 'utf8').trim();
    const secrets = byKind(overlay, 'Secret') as Array<KubeObject & { data: Record<string, string> }>;
    const secretNamed = (name: string) => {
      const s = secrets.find((x) => x.metadata.name === name);
      assert.ok(s, `Secret ${name} is rendered`);
      return s;
    };
    const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8').trim();
    assert.deepEqual(replicaCredentialProblems(overlay, agentSecret), []);
    for (const s of byKind(overlay, 'StatefulSet') as Workload[]) {
      const agent = container(s, 'agent');
      const mount = agent.volumeMounts?.find((m) => m.mountPath === agent.args?.find((a) => a.startsWith('--token-file='))?.split('=')[1]);
      assert.ok(mount, 'the token file is a mount');
      assert.equal(mount.subPathExpr, 'replica-$(PROMSHARD_REPLICA)', 'only the pod\'s own key is mounted');
      assert.equal(agent.env?.find((e) => e.name === 'PROMSHARD_REPLICA')?.valueFrom?.fieldRef?.fieldPath, "metadata.labels['apps.kubernetes.io/pod-index']");
      const digestVolume = s.spec.template.spec.volumes?.find((v) => v.name === 'admin-digest');
      assert.equal(decode(secretNamed(digestVolume!.secret!.secretName).data['admin-token.sha256']!), adminTokenDigest(adminToken));
    }
    const controllerSecrets = secretNamed((controllerOf(overlay).spec.template.spec.volumes ?? []).find((v) => v.secret)!.secret!.secretName);
    const files = container(controllerOf(overlay), 'controller').args!.filter((a) => /-file=/.test(a)).map((a) => a.split('=')[1]!.split('/').pop()!);
    assert.deepEqual(Object.keys(controllerSecrets.data).sort(), files.sort(), 'the controller Secret holds exactly the files its flags name');
    for (const s of secrets) for (const v of Object.values(s.data)) assert.ok(decode(v).length >= 8);
    assert.ok(readFileSync(join(overlayDir, 'secrets', 'admin-token'), 'utf8').startsWith('PLACEHOLDER'), 'example tokens say they are placeholders');
  });

  test('scaling a shard as docs/kubernetes.md says: a count without the new key is caught, minting the key fixes it', () => {
    const copy = mkdtempSync(join(tmpdir(), 'promshard-kube-'));
    try {
      cpSync(deploy, copy, { recursive: true });
      const shardDir = join(copy, 'overlays', 'example', 'shards', 'networking');
      const kustomization = join(shardDir, 'kustomization.yaml');
      appendFileSync(kustomization, 'replicas:\n  - name: prometheus-networking\n    count: 3\n');
      const secretFile = join(copy, 'overlays', 'example', 'secrets', 'agent-secret');
      const agentSecret = readFileSync(secretFile, 'utf8').trim();
      const scaled = kustomize(join(copy, 'overlays', 'example'));
      assert.equal((one(scaled, 'StatefulSet', 'prometheus-networking') as Workload).spec.replicas, 3);
      assert.deepEqual(replicaCredentialProblems(scaled, agentSecret), [
        `StatefulSet/prometheus-networking: Secret ${(one(scaled, 'StatefulSet', 'prometheus-networking') as Workload).spec.template.spec.volumes!.find((v) => v.name === 'agent-tokens')!.secret!.secretName} has no key replica-2: pod prometheus-networking-2 cannot come up`,
      ]);
      const token = execFileSync(process.execPath, [cli, 'agent-token', '--shard', 'networking', '--replica', '2', '--secret-file', secretFile], { encoding: 'utf8' });
      writeFileSync(join(shardDir, 'agent-token-2'), token);
      writeFileSync(kustomization, readFileSync(kustomization, 'utf8').replace('      - replica-1=agent-token-1\n', '      - replica-1=agent-token-1\n      - replica-2=agent-token-2\n'));
      const fixed = kustomize(join(copy, 'overlays', 'example'));
      assert.deepEqual(replicaCredentialProblems(fixed, agentSecret), []);
      assert.deepEqual(fixed.flatMap(schemaErrors), []);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  test('the controller and agent args use only flags that `promshard controller --help` and `agent --help` list, with values where they take one, and every required flag', () => {
    const check = (command: string, c: Container, where: string) => {
      const { takesValue, required } = helpFlags(command, cli);
      const used = flagsOf(c.args ?? []);
      assert.equal(c.args?.[0], command, `${where}: runs promshard ${command}`);
      for (const { flag, hasValue } of used) {
        assert.ok(takesValue.has(flag), `${where}: ${flag} is listed by promshard ${command} --help`);
        assert.equal(hasValue, takesValue.get(flag), `${where}: ${flag} ${takesValue.get(flag) ? 'takes' : 'takes no'} value`);
      }
      for (const r of required) assert.ok(used.some((u) => u.flag === r), `${where}: required ${r} is given`);
    };
    check('controller', container(controllerOf(overlay), 'controller'), 'controller Deployment');
    for (const s of byKind(overlay, 'StatefulSet') as Workload[]) check('agent', container(s, 'agent'), objectId(s));
  });
});
