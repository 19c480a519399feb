import type { HealthChange, LastCollection } from '../pipelines/collection/last-collection.js';
import type { SlackMessage } from './slack-notifier.js';

/**
 * The Slack message of a pipeline whose collections started failing, or
 * recovered. Sent once per change, not per tick: a source that stays
 * missing is announced when it goes missing and when it comes back.
 */
export function collectionMessage(pipelineId: string, change: HealthChange, collection: LastCollection): SlackMessage {
  if (change.to === 'failing') {
    const error = collection.error ?? { code: 'collection_failed', message: 'no reason recorded' };
    return {
      text: [
        `:x: Pipeline *${pipelineId}*: collection failed (${error.code}): ${error.message}`,
        'No run is started until a collection succeeds; later failures are not announced again, the recovery is. See last_collection in GET /v1/pipelines/' + pipelineId + '.',
      ].join('\n'),
    };
  }
  const found = collection.outcome === 'run_started' ? `run ${collection.run_id ?? ''} started with ${collection.items} item${collection.items === 1 ? '' : 's'}` : 'nothing new to collect';
  return { text: `:white_check_mark: Pipeline *${pipelineId}*: collecting again (${found}), after failing since ${change.failingSince}.` };
}
