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

export function parseOutputForRun(run: RunRecord, body: unknown): ParsedOutput {
  const template = run.template ?? readerForEndpoint(run.endpoint);
  return template === null ? { text: null } : parseOutput(template, body);
}
