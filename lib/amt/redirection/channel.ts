import type net from 'node:net';
import { AmtConnectionError, type AmtError } from '../errors';
import { connect, type AmtEndpoint, type AmtTimeouts } from '../transport';
import { AmtRedirectionError } from './errors';
import { REDIRECTION, firmwareMessageLength } from './messages';

/** Unparsed bytes kept at most: one full SOL data message and then some. */
const MAX_BUFFERED = 80 * 1024;
/** Messages queued before anyone reads them: a device that floods is broken. */
const MAX_QUEUED = 1024;

/**
 * One redirection connection: TCP or TLS (with every certificate check of the transport, done
 * before a byte is sent), framed into whole firmware messages. During the handshake the caller
 * pulls messages with `next()`; once a channel runs it switches to `listen()`. Every failure
 * becomes a typed error, after which the channel is closed.
 */
export class RedirectionChannel {
  private buffer = Buffer.alloc(0);
  private readonly queue: Buffer[] = [];
  private waiter: { resolve: (m: Buffer) => void; reject: (e: AmtError) => void; timer: NodeJS.Timeout } | null = null;
  private handler: ((message: Buffer) => void) | null = null;
  private failure: AmtError | null = null;
  private readonly closeListeners: ((reason: AmtError) => void)[] = [];
  /** An end request waiting for its reply type (see `end`). */
  private ending: { type: number; done: () => void } | null = null;
  private endedHere = false;

  private constructor(
    private readonly socket: net.Socket,
    readonly target: string,
    private readonly responseMs: number,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (err) =>
      this.fail(
        new AmtConnectionError('CONNECTION_RESET', `${target}: redirection connection lost`, 'unknown', {
          transient: true,
          cause: err,
        }),
      ),
    );
    socket.on('close', () =>
      this.fail(new AmtRedirectionError('REDIRECTION_CLOSED', `${target}: the device closed the session`, 'unknown')),
    );
  }

  /** Connects within `connectMs`; `responseMs` bounds every later wait for an answer. */
  static async open(endpoint: AmtEndpoint & { port: number }, timeouts: AmtTimeouts): Promise<RedirectionChannel> {
    const target = `${endpoint.tls ? 'tls' : 'tcp'}://${endpoint.host}:${endpoint.port}`;
    const socket = await connect(endpoint, timeouts.connectMs, target);
    return new RedirectionChannel(socket, target, timeouts.responseMs);
  }

  /** Why the channel is closed, or null while it is open. */
  get closedBy(): AmtError | null {
    return this.failure;
  }

  send(bytes: Buffer): void {
    if (!this.failure) this.socket.write(bytes);
  }

  /** The next firmware message, within the response timeout. */
  next(): Promise<Buffer> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.fail(
            new AmtRedirectionError(
              'REDIRECTION_TIMEOUT',
              `${this.target}: no answer within ${this.responseMs} ms`,
              'unknown',
            ),
          ),
        this.responseMs,
      );
      this.waiter = { resolve, reject, timer };
    });
  }

  /** From now on every message (the queued ones first) goes to `handler`. */
  listen(handler: (message: Buffer) => void): void {
    this.handler = handler;
    for (let m = this.queue.shift(); m; m = this.queue.shift()) handler(m);
  }

  /** Called once with the reason when the channel closes (after `close()` too). */
  onClose(listener: (reason: AmtError) => void): void {
    if (this.failure) listener(this.failure);
    else this.closeListeners.push(listener);
  }

  /** Sends `message()` every `ms` while the channel is open (the console's keep-alive). */
  heartbeat(ms: number, message: () => Buffer): void {
    const timer = setInterval(() => this.send(message()), ms);
    timer.unref();
    this.onClose(() => clearInterval(timer));
  }

  /** Why the session ended: null when this side ended it with `end()`, else the close reason. Never rejects. */
  outcome(): Promise<AmtError | null> {
    return new Promise((resolve) => this.onClose((reason) => resolve(this.endedHere ? null : reason)));
  }

  /**
   * Ends the way amtterm does: the channel's end request, its reply (waited for up to 5 s; it never
   * reaches the listener), EndRedirectionSession, and the socket closed.
   */
  async end(request: Buffer, replyType: number): Promise<void> {
    this.endedHere = true;
    if (this.failure) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5_000);
      const done = () => {
        clearTimeout(timer);
        this.ending = null;
        resolve();
      };
      this.ending = { type: replyType, done };
      this.onClose(done);
      this.send(request);
    });
    this.send(Buffer.from([REDIRECTION.END_SESSION, 0, 0, 0]));
    this.close();
  }

  /** Ends the session as a console does after its last message: close the socket. */
  close(): void {
    this.endedHere = true;
    this.socket.end();
    this.socket.destroySoon();
  }

  /** Tears the connection down with `reason` (a protocol violation seen by a session); `outcome` reports it. */
  abort(reason: AmtError): void {
    this.endedHere = false;
    this.fail(reason);
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (this.buffer.length > MAX_BUFFERED) return this.violation('more unframed data than any message holds');
    for (;;) {
      const length = firmwareMessageLength(this.buffer);
      if (length === null) return;
      if (length < 0) return this.violation(`unknown message type 0x${this.buffer[0]!.toString(16)}`);
      const message = Buffer.from(this.buffer.subarray(0, length));
      this.buffer = this.buffer.subarray(length);
      this.deliver(message);
      if (this.failure) return;
    }
  }

  private deliver(message: Buffer): void {
    if (this.ending && message[0] === this.ending.type) return this.ending.done();
    if (this.handler) return this.handler(message);
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = null;
      clearTimeout(waiter.timer);
      return waiter.resolve(message);
    }
    if (this.queue.length >= MAX_QUEUED) return this.violation('the device sent more than the console asked for');
    this.queue.push(message);
  }

  private violation(what: string): void {
    this.fail(new AmtRedirectionError('REDIRECTION_PROTOCOL_ERROR', `${this.target}: ${what}`, 'unknown'));
  }

  private fail(reason: AmtError): void {
    if (this.failure) return;
    this.failure = reason;
    this.socket.destroy();
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.reject(reason);
    }
    for (const listener of this.closeListeners.splice(0)) listener(reason);
  }
}
