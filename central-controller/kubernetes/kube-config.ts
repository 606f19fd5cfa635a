// Loading @kubernetes/client-node and a kubeconfig, only in Kubernetes mode: importing the library
// costs about a second, which every other command (and the controller outside Kubernetes) must not pay.
import { existsSync, readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';

export type ClientNode = typeof import('@kubernetes/client-node');

let loading: Promise<ClientNode> | null = null;

/** The library, imported once on first use. */
export function clientNode(): Promise<ClientNode> {
  return (loading ??= import('@kubernetes/client-node'));
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadedKubeConfig {
  k8s: ClientNode;
  kc: KubeConfig;
  /** Where it came from, for logs and status (never the credential). */
  source: string;
  /** The namespace of the current context (in-cluster: the pod's own namespace). */
  namespace: string;
}

/**
 * Kubeconfig in order of precedence: `--kubeconfig FILE`, then `$KUBECONFIG`, then the pod's service
 * account (in-cluster), then ~/.kube/config. Fails with a message naming what was tried.
 */
export async function loadKubeConfig(opts: { kubeconfig?: string; env?: NodeJS.ProcessEnv; /** Test hook: a root under which the service account files live. */ inClusterPrefix?: string } = {}): Promise<LoadedKubeConfig> {
  const env = opts.env ?? process.env;
  const saDir = `${opts.inClusterPrefix ?? ''}${SERVICE_ACCOUNT_DIR}`;
  const k8s = await clientNode();
  const kc = new k8s.KubeConfig();
  let source: string;
  const fromFile = (file: string, what: string) => {
    if (!existsSync(file)) throw new Error(`${what}: ${file} does not exist`);
    try {
      kc.loadFromFile(file);
    } catch (err) {
      throw new Error(`${what}: ${file}: ${(err as Error).message}`);
    }
    return `${what} ${file}`;
  };
  if (opts.kubeconfig) source = fromFile(opts.kubeconfig, '--kubeconfig');
  else if (env.KUBECONFIG) source = fromFile(env.KUBECONFIG.split(process.platform === 'win32' ? ';' : ':')[0]!, 'KUBECONFIG');
  else if (env.KUBERNETES_SERVICE_HOST && existsSync(`${saDir}/token`)) {
    kc.loadFromCluster(opts.inClusterPrefix ?? '');
    source = 'in-cluster service account';
  } else if (env.HOME && existsSync(`${env.HOME}/.kube/config`)) source = fromFile(`${env.HOME}/.kube/config`, '~/.kube/config');
  else throw new Error('no kubeconfig: give --kubeconfig FILE or set KUBECONFIG, or run in a pod with a service account token');
  if (!kc.getCurrentCluster()) throw new Error(`${source}: the current context names no cluster`);
  const ctxNs = kc.getContextObject(kc.getCurrentContext())?.namespace;
  let namespace = ctxNs ?? 'default';
  if (source === 'in-cluster service account' && existsSync(`${saDir}/namespace`)) namespace = readFileSync(`${saDir}/namespace`, 'utf8').trim() || namespace;
  return { k8s, kc, source, namespace };
}
