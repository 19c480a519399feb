import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Deps } from '../deps.js';
import { LineFileWriter } from '../lib/line-file-writer.js';
import { enqueue } from '../queues/stage-queues.js';
import { jobIds } from '../queues/job-ids.js';
import { newShardRecord } from './run-record.js';
import type { ShardLine } from './shard-line.js';
import { storageKeys } from './storage-keys.js';

interface OpenShard {
  requests: LineFileWriter;
  manifest: LineFileWriter | null;
  model: string | null;
  tokens: number;
}

/**
 * Cuts a stream of request lines into shards that respect OpenAI's limits
 * (50,000 requests, just under 200 MB, one model), writing each to a local
 * file as lines arrive and handing it to storage and the submit queue as soon
 * as it closes — the next shard builds while the previous one uploads.
 * Given the same lines it cuts the same shards, so a rebuild after a crash
 * reproduces them byte for byte.
 */
export class ShardAssembler {
  private current: OpenShard | null = null;
  private closed = 0;

  constructor(
    private readonly deps: Deps,
    private readonly runId: string,
    private readonly withManifest: boolean,
  ) {}

  get shardCount(): number {
    return this.closed + (this.current === null ? 0 : 1);
  }

  async add(requestLine: ShardLine, manifestLine: string | null, model: string | null): Promise<void> {
    const lineBytes = requestLine.byteLength;
    const open = this.current;
    if (
      open !== null &&
      (open.requests.lines >= this.deps.tuning.shardMaxRequests ||
        open.requests.bytes + lineBytes > this.deps.tuning.shardMaxBytes ||
        open.model !== model)
    ) {
      await this.closeCurrent();
    }
    const shard = this.current ?? this.open(model);
    await shard.requests.write(requestLine);
    if (shard.manifest !== null && manifestLine !== null) await shard.manifest.write(manifestLine);
    shard.tokens += requestLine.estimatedTokens;
  }

  /** Closes the last shard; returns how many shards the run has. */
  async finish(): Promise<number> {
    if (this.current !== null) await this.closeCurrent();
    return this.closed;
  }

  /** Drops local files of a shard left open by a failure. */
  async abandon(): Promise<void> {
    const open = this.current;
    this.current = null;
    if (open === null) return;
    await open.requests.close();
    await open.manifest?.close();
    await rm(open.requests.path, { force: true });
    if (open.manifest !== null) await rm(open.manifest.path, { force: true });
  }

  private open(model: string | null): OpenShard {
    const base = path.join(this.deps.workDir, `${this.runId}-shard-${this.closed}`);
    this.current = {
      requests: new LineFileWriter(`${base}.requests.jsonl`),
      manifest: this.withManifest ? new LineFileWriter(`${base}.manifest.ndjson`) : null,
      model,
      tokens: 0,
    };
    return this.current;
  }

  private async closeCurrent(): Promise<void> {
    const open = this.current;
    if (open === null) return;
    const shard = this.closed;
    await open.requests.close();
    await open.manifest?.close();
    const { storage, ledger, queues } = this.deps;
    await storage.putFile(storageKeys.shardRequests(this.runId, shard, 0), open.requests.path);
    if (open.manifest !== null) await storage.putFile(storageKeys.shardManifest(this.runId, shard), open.manifest.path);
    await ledger.addShard(
      this.runId,
      newShardRecord({ shard, model: open.model, requests: open.requests.lines, bytes: open.requests.bytes, estimated_tokens: open.tokens }),
    );
    const payload = { runId: this.runId, shard, generation: 0 };
    await enqueue(queues, 'submit', payload, { jobId: jobIds.submit(payload) });
    this.current = null;
    this.closed += 1;
  }
}
