import type { Deps } from '../deps.js';
import { notFound } from '../lib/api-error.js';
import type { TemplateDefinition } from '../pipelines/templates/template-definition.js';

/** POST /v1/runs with { pipeline, items }: the pipeline's template and notification applied to the POSTed items. */
export async function resolvePipelineRun(
  _deps: Deps,
  pipelineId: string,
  _items: Array<Record<string, unknown>>,
): Promise<{ spec: { pipeline_id: string; template: TemplateDefinition; slack_webhook_url: string | null; output_url: string | null }; items: Array<Record<string, unknown>> }> {
  throw notFound('pipeline', pipelineId);
}
