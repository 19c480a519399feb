/**
 * Deterministic storage keys of a run: re-running a stage writes the same
 * key with the same bytes instead of a second copy.
 */
const pad = (shard: number): string => String(shard).padStart(4, '0');

export const storageKeys = {
  itemsInput: (runId: string): string => `runs/${runId}/input/items.ndjson`,
  requestsInput: (runId: string): string => `runs/${runId}/input/requests.jsonl`,
  rejected: (runId: string): string => `runs/${runId}/rejected.ndjson`,
  shardRequests: (runId: string, shard: number, generation: number): string =>
    `runs/${runId}/shards/${pad(shard)}/gen-${generation}/requests.jsonl`,
  shardManifest: (runId: string, shard: number): string => `runs/${runId}/shards/${pad(shard)}/manifest.ndjson`,
  shardResults: (runId: string, shard: number, generation: number): string =>
    `runs/${runId}/shards/${pad(shard)}/gen-${generation}/results.ndjson`,
  runResults: (runId: string): string => `runs/${runId}/results.ndjson`,
  runErrors: (runId: string): string => `runs/${runId}/errors.ndjson`,
};
