import net from 'node:net';

/**
 * A TCP proxy in front of a Redis that loses one reply on purpose: once armed, the first integer
 * reply to a request that names `key` reaches no one, and the client's connection is cut. The
 * command did run in Redis; the client only sees its connection drop (what a network fault right
 * after a write looks like). Everything else passes through unchanged.
 */
export class ReplyDroppingProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #armedFor: string | undefined;
  /** Replies dropped so far. */
  dropped = 0;

  private constructor(server: net.Server) {
    this.#server = server;
  }

  static async start(upstream: { host: string; port: number }): Promise<ReplyDroppingProxy> {
    const server = net.createServer();
    const proxy = new ReplyDroppingProxy(server);
    server.on('connection', (client) => proxy.#pipe(client, upstream));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** Drops the next integer reply to a request naming `key`, once. */
  dropNextReplyTo(key: string): void {
    this.#armedFor = key;
  }

  #pipe(client: net.Socket, upstream: { host: string; port: number }): void {
    const server = net.connect(upstream.port, upstream.host);
    this.#sockets.add(client).add(server);
    let watching = false;
    client.on('data', (chunk: Buffer) => {
      if (this.#armedFor !== undefined && chunk.includes(this.#armedFor)) watching = true;
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (watching && /^:\d+\r\n$/.test(chunk.toString('latin1'))) {
        this.#armedFor = undefined;
        this.dropped += 1;
        client.destroy();
        server.destroy();
        return;
      }
      client.write(chunk);
    });
    const close = (): void => {
      client.destroy();
      server.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(server);
    };
    client.on('close', close).on('error', close);
    server.on('close', close).on('error', close);
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
