import { parseOutput, type ParsedOutput } from '../pipelines/templates/parse-output.js';
import type { TemplateDefinition } from '../pipelines/templates/template-definition.js';
import type { RunRecord } from './run-record.js';

/**
 * A run of raw request lines has no template; its output is read the way
 * the template of the same endpoint would read it.
 */
const readerForEndpoint = (endpoint: string): TemplateDefinition | null => {
  switch (endpoint) {
    case '/v1/chat/completions':
      return { type: 'chat', model: 'any', prompt: '' } as TemplateDefinition;
    case '/v1/responses':
      return { type: 'responses', model: 'any', prompt: '' } as TemplateDefinition;
    case '/v1/embeddings':
      return { type: 'embeddings', model: 'any', input: '' } as TemplateDefinition;
    default:
      return null;
  }
};

/** What reading a run's output needs of it: plain data, so a join thread can be handed it. */
export type OutputReading = Pick<RunRecord, 'template' | 'endpoint'>;

export function parseOutputForRun(run: OutputReading, body: unknown): ParsedOutput {
  const template = run.template ?? readerForEndpoint(run.endpoint);
  return template === null ? { text: null } : parseOutput(template, body);
}
