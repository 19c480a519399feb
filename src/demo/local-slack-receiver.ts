import { createServer } from 'node:http';
import { once } from 'node:events';

/**
 * A stand-in for a Slack incoming webhook on loopback: the demo points
 * SLACK_WEBHOOK_URL here, so the real @slack/webhook client posts and the
 * message is printed instead of going to a workspace.
 */
export async function startLocalSlackReceiver(onMessage: (text: string) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text?: unknown };
        onMessage(typeof body.text === 'string' ? body.text : JSON.stringify(body));
        response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      } catch {
        response.writeHead(400, { 'content-type': 'text/plain' }).end('invalid_payload');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}/services/demo`,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
