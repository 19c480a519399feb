import { UnrecoverableError } from 'bullmq';
import type { Deps } from '../deps.js';
import { parsePayload, type StageProcessor } from './stage-processor.js';

export function createCollectProcessor(deps: Deps): StageProcessor<'collect'> {
  return async (job) => {
    const { pipelineId } = parsePayload('collect', job.data);
    deps.logger.warn({ pipeline_id: pipelineId }, 'collection is not available in this build');
    throw new UnrecoverableError('collection is not available in this build');
  };
}
