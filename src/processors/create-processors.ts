import type { Deps } from '../deps.js';
import { createBuildProcessor } from './build-processor.js';
import { createCollectProcessor } from './collect-processor.js';
import { createNotifyProcessor } from './notify-processor.js';
import { createPollProcessor } from './poll-processor.js';
import { createResultsProcessor } from './results-processor.js';
import type { StageProcessors } from './stage-processor.js';
import { createSubmitProcessor } from './submit-processor.js';

export function createProcessors(deps: Deps): StageProcessors {
  return {
    collect: createCollectProcessor(deps),
    build: createBuildProcessor(deps),
    submit: createSubmitProcessor(deps),
    poll: createPollProcessor(deps),
    results: createResultsProcessor(deps),
    notify: createNotifyProcessor(deps),
  };
}
