// file-name: team folder and file names are letters, digits, ".", "_" and "-", and a file ends in
// .yaml or .yml. The path is written into rendered comments, findings, the dashboard and the agents'
// cardinality flags; a name holding a line break once smuggled configuration into a shard's
// prometheus.yml. The loader raises this finding (core/compiler/compile-repository.ts) and does not
// read the file, so none of its jobs can be compiled or rendered; the check itself is
// core/repository/file-names.ts, which the model builder also applies.
import { loaderRule } from '../../core/compiler/rule.ts';

export const fileName = loaderRule('file-name', 'A team folder or file name outside letters, digits, ".", "_" and "-" (files ending in .yaml or .yml); the file is not read.');
