import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  /** SIGKILL: what a crash looks like to the service. */
  kill(): Promise<void>;
  /** Starts redis-server again on the same port and folder (AOF replays when on). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A port the kernel just handed out on loopback (closed again, so a server can take it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Starts a real redis-server on a free loopback port, as CI and developers have it installed. */
export async function startRedis(options: { appendonly?: boolean } = {}): Promise<TestRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'batchline-redis-'));
  const port = await freePort();
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir,
    '--appendonly', options.appendonly === true ? 'yes' : 'no',
    '--appendfsync', 'always',
    '--maxmemory-policy', 'noeviction',
  ];
  let child = await launch(args, port);
  const handle: TestRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get process() {
      return child;
    },
    async kill() {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    },
    async restart() {
      await handle.kill();
      child = await launch(args, port);
    },
    async stop() {
      await handle.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

async function launch(args: string[], port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Redis logs to stdout; wait for its own word that it is ready rather than probing on a timer.
  const ready = new Promise<void>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`redis-server on port ${port} was not ready within 10 s:\n${seen}`)), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-4000);
      if (seen.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start redis-server (${error.message}); install it: apt-get install -y redis-server`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${seen}`));
    });
  });
  await ready;
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}
