import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local webhook receiver on a free loopback port: keeps every JSON body POSTed to it. */
export interface WebhookReceiver<T> {
  readonly url: string;
  readonly bodies: T[];
  close(): Promise<void>;
}

export async function webhookReceiver<T = unknown>(status = 200): Promise<WebhookReceiver<T>> {
  const bodies: T[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
