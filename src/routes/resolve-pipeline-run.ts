import type { Deps } from '../deps.js';
import { PipelineRegistry } from '../pipelines/pipeline-registry.js';
import type { TemplateDefinition } from '../pipelines/templates/template-definition.js';
import { checkItems } from '../runs/run-request.js';

/** POST /v1/runs with { pipeline, items }: the pipeline's template, notification and output applied to the POSTed items. */
export async function resolvePipelineRun(
  deps: Deps,
  pipelineId: string,
  items: Array<Record<string, unknown>>,
): Promise<{ spec: { pipeline_id: string; template: TemplateDefinition; slack_webhook_url: string | null; output_url: string | null }; items: Array<Record<string, unknown>> }> {
  const { definition } = await new PipelineRegistry(deps).require(pipelineId);
  // The same checks as { template, items }: a placeholder no item provides, two items sharing an id.
  checkItems(definition.template, items);
  return {
    spec: {
      pipeline_id: pipelineId,
      template: definition.template,
      slack_webhook_url: definition.notify?.slack_webhook_url ?? null,
      output_url: definition.output?.url ?? null,
    },
    items,
  };
}
