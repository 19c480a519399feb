import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../config.js';
import type { Deps } from '../deps.js';
import { ApiError } from '../lib/api-error.js';
import { PIPELINE_ID, PIPELINE_ID_MESSAGE, parsePipelineDefinition, type PipelineDefinition } from './pipeline-definition.js';
import { PipelineRegistry } from './pipeline-registry.js';

/**
 * PIPELINES_FILE: `{ "pipelines": { "<id>": <definition>, … } }` in JSON
 * (`.json`) or YAML (anything else), each definition exactly what
 * PUT /v1/pipelines/<id> takes. The whole file is validated before any of it
 * is applied, so a bad file starts nothing and schedules nothing.
 */
export async function readPipelinesFile(file: string): Promise<Map<string, PipelineDefinition>> {
  const fail = (why: string): ConfigError => new ConfigError(`PIPELINES_FILE ${file}: ${why}`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw fail(`cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  let document: unknown;
  try {
    document = path.extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw fail(`is not valid ${path.extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw fail('must hold an object: { pipelines: { <id>: <definition> } }');
  const unknown = Object.keys(document).filter((key) => key !== 'pipelines');
  if (unknown.length > 0) throw fail(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => `"${key}"`).join(', ')} (the file holds { pipelines: { <id>: <definition> } })`);
  const pipelines = (document as { pipelines?: unknown }).pipelines;
  if (typeof pipelines !== 'object' || pipelines === null || Array.isArray(pipelines)) throw fail('pipelines: must be an object of pipeline id → definition');

  const definitions = new Map<string, PipelineDefinition>();
  const problems: string[] = [];
  for (const [id, body] of Object.entries(pipelines)) {
    if (!PIPELINE_ID.test(id)) {
      problems.push(`pipelines.${JSON.stringify(id)}: the pipeline id ${PIPELINE_ID_MESSAGE}`);
      continue;
    }
    try {
      definitions.set(id, parsePipelineDefinition(body, `pipelines.${id}`));
    } catch (error) {
      problems.push(error instanceof ApiError ? error.message : String(error));
    }
  }
  if (problems.length > 0) throw fail(problems.join('; '));
  return definitions;
}

/**
 * Applies the file at start: each pipeline is stored and scheduled
 * (idempotently: a restart re-applies the same schedules in place), and
 * pipelines an earlier version of the file defined but this one no longer
 * does are removed. Pipelines defined through the API are left alone.
 */
export async function applyPipelinesFile(deps: Deps, file: string): Promise<{ applied: string[]; removed: string[] }> {
  const definitions = await readPipelinesFile(file);
  const registry = new PipelineRegistry(deps);
  for (const [id, definition] of definitions) await registry.apply(id, definition, 'file');
  const removed: string[] = [];
  for (const record of await registry.store.list()) {
    if (record.origin !== 'file' || definitions.has(record.id)) continue;
    await registry.delete(record.id);
    removed.push(record.id);
  }
  deps.logger.info({ file, applied: [...definitions.keys()], removed }, 'PIPELINES_FILE applied');
  return { applied: [...definitions.keys()], removed };
}
