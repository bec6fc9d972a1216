import net from 'node:net';

/** PostgreSQL's SSLRequest code: the server answers it with one unframed byte ('S' or 'N'). */
const SSL_REQUEST = 80877103;

/**
 * A TCP proxy in front of PostgreSQL for the worker's connections, with two faults:
 *  - `cutCommits`: close a connection right after PostgreSQL answered a COMMIT (CommandComplete
 *    with tag "COMMIT" reached the proxy) and before that answer is forwarded, so the transaction
 *    is durable but its client cannot know it;
 *  - `stall`: stop forwarding in both directions without closing any socket (a silent network),
 *    until `resume`. Connections opened during the stall are accepted and held the same way.
 * It reads the server's stream as protocol messages (type byte, int32 length); the client's stream
 * is forwarded as it comes.
 */
export class PgProxy {
  private readonly links = new Set<Link>();
  private stalled = false;
  private commits = 0;
  private armed = 0;
  /** Ordinals (1-based, over all connections) of the COMMIT answers that were cut. */
  readonly cut: number[] = [];

  private constructor(
    private readonly server: net.Server,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(databaseUrl: string): Promise<PgProxy> {
    const url = new URL(databaseUrl);
    const server = net.createServer();
    const proxy = new PgProxy(server, { host: url.hostname, port: Number(url.port || 5432) });
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** `databaseUrl` with its host and port replaced by the proxy's. */
  url(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  /** COMMIT answers seen so far (cut ones included). */
  get commitsSeen(): number {
    return this.commits;
  }

  /** Cut the connection at the next COMMIT answer (on whichever connection it comes). */
  cutNextCommit(): void {
    this.armed++;
  }

  stall(): void {
    this.stalled = true;
    for (const l of this.links) l.pause();
  }

  resume(): void {
    this.stalled = false;
    for (const l of this.links) l.resume();
  }

  async close(): Promise<void> {
    for (const l of this.links) l.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.target.port, this.target.host);
    const link = new Link(client, upstream, (tag) => this.onCommandComplete(tag));
    this.links.add(link);
    link.onClose(() => this.links.delete(link));
    if (this.stalled) link.pause();
  }

  /** Called for each CommandComplete from the server; true = cut the connection before forwarding it. */
  private onCommandComplete(tag: string): boolean {
    if (tag !== 'COMMIT') return false;
    this.commits++;
    if (this.armed === 0) return false;
    this.armed--;
    this.cut.push(this.commits);
    return true;
  }
}

class Link {
  /** Server bytes not yet forwarded: an incomplete message at the end of the last chunk. */
  private pending = Buffer.alloc(0);
  /** Unframed server bytes to pass through first (the answer to an SSLRequest). */
  private raw = 0;
  private firstClientChunk = true;
  private paused = false;
  private closed = false;

  constructor(
    private readonly client: net.Socket,
    private readonly upstream: net.Socket,
    private readonly cutOn: (tag: string) => boolean,
  ) {
    client.on('data', (chunk: Buffer) => {
      if (this.firstClientChunk && chunk.length >= 8 && chunk.readInt32BE(4) === SSL_REQUEST) this.raw = 1;
      this.firstClientChunk = false;
      if (!upstream.write(chunk)) this.waitDrain(client, upstream);
    });
    upstream.on('data', (chunk: Buffer) => this.fromServer(chunk));
    for (const s of [client, upstream]) {
      s.on('error', () => this.destroy());
      s.on('close', () => this.destroy());
    }
  }

  onClose(fn: () => void): void {
    this.client.once('close', fn);
  }

  pause(): void {
    this.paused = true;
    this.client.pause();
    this.upstream.pause();
  }

  resume(): void {
    this.paused = false;
    this.client.resume();
    this.upstream.resume();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
    this.upstream.destroy();
  }

  private waitDrain(from: net.Socket, to: net.Socket): void {
    from.pause();
    to.once('drain', () => {
      if (!this.paused) from.resume();
    });
  }

  private fromServer(chunk: Buffer): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = Math.min(this.raw, buf.length);
    this.raw -= at;
    // Forward whole messages only, so a COMMIT answer can be held back in one piece.
    while (buf.length - at >= 5) {
      const len = buf.readInt32BE(at + 1);
      if (buf.length - at < 1 + len) break;
      if (buf[at] === 0x43 /* 'C' CommandComplete */) {
        const tag = buf.toString('utf8', at + 5, at + len).replace(/\0$/, '');
        if (this.cutOn(tag)) {
          // What came before the answer still reaches the client; the answer and the rest never do.
          this.closed = true;
          this.upstream.destroy();
          this.client.end(buf.subarray(0, at));
          return;
        }
      }
      at += 1 + len;
    }
    if (at > 0 && !this.client.write(buf.subarray(0, at))) this.waitDrain(this.upstream, this.client);
    buf = buf.subarray(at);
    this.pending = Buffer.from(buf);
  }
}
