import { spawn, type ChildProcess } from 'node:child_process';

export class RedisNotInstalledError extends Error {
  constructor() {
    super(
      'redis-server was not found on PATH. Install it: `sudo apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis` (macOS), or run everything with `docker compose up`.',
    );
    this.name = 'RedisNotInstalledError';
  }
}

/**
 * Starts a redis-server child on loopback and resolves once Redis itself
 * says it is ready (its own log line, not a timer). Used by the demo and by
 * the tests, which own the server for their lifetime.
 */
export async function spawnRedisServer(options: { port: number; dir: string; appendonly: boolean }): Promise<ChildProcess> {
  const args = [
    '--port', String(options.port), '--bind', '127.0.0.1', '--save', '', '--dir', options.dir,
    '--appendonly', options.appendonly ? 'yes' : 'no',
    '--appendfsync', 'always',
    '--maxmemory-policy', 'noeviction',
  ];
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`redis-server on port ${options.port} was not ready within 10 s:\n${seen}`)), 10_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-4000);
      if (seen.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new RedisNotInstalledError() : error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${seen}`));
    });
  });
  // Keep draining its output so a chatty Redis never blocks on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}
