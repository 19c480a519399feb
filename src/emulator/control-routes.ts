import type { FastifyInstance } from 'fastify';
import type { EmulatorLedger } from './emulator-ledger.js';
import { emulatorFaultsSchema, type EmulatorFaults } from './emulator-options.js';
import { invalidRequest } from './openai-error.js';

/**
 * The ledger and the faults over HTTP, for an emulator in another process
 * (`batchline emulator`, the bench). Same bearer key as the API; not part of
 * OpenAI's API, hence the /_emulator prefix.
 */
function serializableFaults(faults: EmulatorFaults): Record<string, unknown> {
  const { dropCreateResponse, ...rest } = faults;
  return { ...rest, dropCreateResponse: typeof dropCreateResponse === 'function' ? 'predicate' : dropCreateResponse };
}

export function registerControlRoutes(app: FastifyInstance, faults: EmulatorFaults, ledger: EmulatorLedger): void {
  app.get('/_emulator/ledger', async () => ({
    batches: ledger.batches(),
    files: ledger.files(),
    webhook_deliveries: ledger.webhookDeliveries(),
  }));

  app.get('/_emulator/faults', async () => serializableFaults(faults));

  /** Merges the given fields into the live faults (unknown or bad fields: 400, nothing changed). */
  app.patch('/_emulator/faults', async (request) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidRequest('Expected a JSON object of fault settings.');
    const unknown = Object.keys(body).filter((key) => !(key in emulatorFaultsSchema.shape));
    if (unknown.length > 0) throw invalidRequest(`Unknown fault settings: ${unknown.join(', ')}.`, unknown[0] ?? null);
    const parsed = emulatorFaultsSchema.safeParse({ ...faults, ...body });
    if (!parsed.success) throw invalidRequest(`Invalid fault settings: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
    Object.assign(faults, parsed.data);
    return serializableFaults(faults);
  });
}
