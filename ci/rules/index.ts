// Every rule, in the order they run. Add a rule: create ci/rules/<id>.ts, list it here, document it
// in docs/rules.md, and test it both ways in test/rules/ (test/rules/docs-cover-every-rule.test.ts
// fails until the docs have a section with a failing and a fixed example).
import type { Rule } from '../../core/compiler/rule.ts';
import { fileUnreadable, yamlSyntax, fileLayout } from './loader-rules.ts';
import { schema } from './schema.ts';
import { fileName } from './file-name.ts';
import { unsafeCharacters } from './unsafe-characters.ts';
import { jobName } from './job-name.ts';
import { unknownKey } from './unknown-key.ts';
import { unknownShard } from './unknown-shard.ts';
import { teamFolderMismatch } from './team-folder-mismatch.ts';
import { duplicateJob } from './duplicate-job.ts';
import { duplicateShard } from './duplicate-shard.ts';
import { jobTargets } from './job-targets.ts';
import { dnsPort } from './dns-port.ts';
import { targetAddress } from './target-address.ts';
import { duplicateTarget } from './duplicate-target.ts';
import { labelName } from './label-name.ts';
import { duration } from './duration.ts';
import { timeoutExceedsInterval } from './timeout-exceeds-interval.ts';
import { relabelConfig } from './relabel-config.ts';
import { relabelRegex } from './relabel-regex.ts';
import { reservedRelabelLabel } from './reserved-relabel-label.ts';
import { noInlineSecrets } from './no-inline-secrets.ts';
import { credentialsOverHttp } from './credentials-over-http.ts';
import { credentialPath } from './credential-path.ts';
import { remoteWrite } from './remote-write.ts';
import { limitAboveMax } from './limit-above-max.ts';
import { shardOverBudget } from './shard-over-budget.ts';

export const ALL_RULES: readonly Rule[] = [
  fileUnreadable,
  fileLayout,
  yamlSyntax,
  fileName,
  schema,
  unsafeCharacters,
  unknownKey,
  unknownShard,
  teamFolderMismatch,
  jobName,
  duplicateJob,
  duplicateShard,
  jobTargets,
  dnsPort,
  targetAddress,
  duplicateTarget,
  labelName,
  duration,
  timeoutExceedsInterval,
  relabelConfig,
  relabelRegex,
  reservedRelabelLabel,
  noInlineSecrets,
  credentialsOverHttp,
  credentialPath,
  remoteWrite,
  limitAboveMax,
  shardOverBudget,
];
