// The fault suite replayed on a seed that once froze the controller's start-up: AbortSignal.any over
// AbortSignal.timeout could be collected before firing on Node 20, so a status call to an agent that
// had not answered yet never ended. Fixed in central-controller/agent-client.ts and
// shard-agent/controller-client.ts; this run failed before the fix. (fleet-chaos.test.ts itself runs
// a fresh random seed each time.)
process.env.PROMSHARD_FAULT_SEED = process.env.PROMSHARD_REGRESSION_SEED ?? '4141651117';
await import('./fleet-chaos.test.ts');
