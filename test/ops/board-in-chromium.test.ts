import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { access, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RunView } from '../../src/runs/run-view.js';
import { startTestService, type TestService } from '../helpers/test-service.js';

const run = promisify(execFile);
const TOKEN = 'board-browser-token';
const STAGES = ['collect', 'build', 'submit', 'poll', 'results', 'notify'];

/** CI installs it (`apt-get install -y chromium`); a missing browser is a failure to fix, not a reason to skip. */
async function findChromium(): Promise<string> {
  const candidates = [process.env['CHROMIUM'], 'chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'].filter((name): name is string => name !== undefined && name !== '');
  for (const name of candidates) {
    if (name.includes('/')) {
      if (await access(name).then(() => true, () => false)) return name;
      continue;
    }
    for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
      const full = path.join(dir, name);
      if (await access(full).then(() => true, () => false)) return full;
    }
  }
  throw new Error('no Chromium found on PATH (tried chromium, chromium-browser, google-chrome); install it with `apt-get install -y chromium` or set CHROMIUM=/path/to/chrome');
}

/**
 * Stands in front of the service and adds the basic-auth header a browser
 * sends once its user has answered the board's login prompt (headless
 * Chromium cannot answer one, and a page opened with user:pass@ in its URL
 * cannot fetch from itself). Records what the browser asked for.
 */
async function startAuthenticatingProxy(target: URL, authorization: string): Promise<{ url: string; seen: Array<{ path: string; status: number }>; close(): Promise<void> }> {
  const seen: Array<{ path: string; status: number }> = [];
  const server: Server = createServer((incoming, outgoing) => {
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: target.host, authorization } },
      (response) => {
        seen.push({ path: incoming.url ?? '', status: response.statusCode ?? 0 });
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    upstream.on('error', () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    seen,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('Bull Board in headless Chromium', () => {
  let t: TestService;
  let chromium: string;
  let proxy: Awaited<ReturnType<typeof startAuthenticatingProxy>>;
  let workDir: string;

  const browse = async (url: string, output: string[]): Promise<string> => {
    const profile = await mkdtemp(path.join(workDir, 'profile-'));
    const flags = [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', `--user-data-dir=${profile}`, '--window-size=1280,900',
      // Virtual time lets the single-page app fetch and render before the capture; 5 s of it is not always enough.
      '--virtual-time-budget=15000',
    ];
    const { stdout } = await run(chromium, [...flags, ...output, url], { timeout: 60_000, maxBuffer: 32 * 1024 * 1024 });
    return stdout;
  };

  before(async () => {
    chromium = await findChromium();
    t = await startTestService({ env: { API_TOKENS: TOKEN } });
    assert.ok(t.service.url !== null);
    // Something in the queues, so the board has jobs to show.
    const posted = await t.request('POST', '/v1/runs', { template: { type: 'summarize' }, items: [{ id: 'a1', text: 'Bees matter. A lot.' }] }, { authorization: `Bearer ${TOKEN}` });
    assert.equal(posted.status, 202, posted.text);
    await t.waitForRunEnd((posted.body as RunView).id);
    proxy = await startAuthenticatingProxy(new URL(t.service.url), `Basic ${Buffer.from(`ops:${TOKEN}`).toString('base64')}`);
    workDir = await mkdtemp(path.join(tmpdir(), 'batchline-chromium-'));
  });
  after(async () => {
    await proxy.close();
    await t.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it('renders the board with every stage queue, fetching the board API with basic auth', async () => {
    const dom = await browse(`${proxy.url}/admin/queues`, ['--dump-dom']);
    for (const stage of STAGES) assert.match(dom, new RegExp(`href="/admin/queues/queue/${stage}"`), `the rendered board links queue ${stage}`);
    assert.doesNotMatch(dom, />\s*Loading\s*</, 'the app got past its loading screen');
    const api = proxy.seen.filter((request) => request.path.startsWith('/admin/queues/api/queues'));
    assert.ok(api.length > 0, `the page fetched the board API: ${JSON.stringify(proxy.seen)}`);
    assert.ok(api.every((request) => request.status === 200));
  });

  it('takes a screenshot: a real PNG of the window size, with more than a loading screen in it', async () => {
    const file = path.join(workDir, 'board.png');
    await browse(`${proxy.url}/admin/queues`, [`--screenshot=${file}`]);
    const png = await readFile(file);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
    assert.equal(png.subarray(12, 16).toString('ascii'), 'IHDR');
    assert.equal(png.readUInt32BE(16), 1280);
    assert.equal(png.readUInt32BE(20), 900);
    // A blank or "Loading" page compresses to a few KB; the rendered board with six queue cards does not.
    assert.ok(png.length > 30_000, `screenshot is only ${png.length} bytes`);
    // To look at it: BATCHLINE_BOARD_SCREENSHOT=/some/where.png
    const keep = process.env['BATCHLINE_BOARD_SCREENSHOT'];
    if (keep !== undefined && keep !== '') await copyFile(file, keep);
  });

  it('a browser without credentials gets the login challenge, not the board', async () => {
    assert.ok(t.service.url !== null);
    const dom = await browse(`${t.service.url}/admin/queues`, ['--dump-dom']);
    // Headless Chromium cannot answer the basic-auth prompt: it shows nothing of the board.
    assert.doesNotMatch(dom, /queue\/poll|<base href="\/admin\/queues\/"/);
  });
});
