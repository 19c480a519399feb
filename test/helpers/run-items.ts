import type { Deps } from '../../src/deps.js';
import { readLines } from '../../src/lib/jsonl.js';
import type { CollectedItem } from '../../src/pipelines/collection/collect-pipeline.js';
import { storageKeys } from '../../src/runs/storage-keys.js';

/** The items a run was started with, as stored in its input. */
export async function readRunItems(deps: Pick<Deps, 'storage'>, runId: string): Promise<CollectedItem[]> {
  const items: CollectedItem[] = [];
  for await (const line of readLines(await deps.storage.get(storageKeys.itemsInput(runId)))) items.push(JSON.parse(line) as CollectedItem);
  return items;
}

/** Every run of a pipeline, oldest first. */
export async function pipelineRunIds(deps: Pick<Deps, 'ledger'>, pipelineId: string): Promise<string[]> {
  return (await deps.ledger.listRunIds({ pipelineId, count: 1000 })).reverse();
}
