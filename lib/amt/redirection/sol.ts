import { Duplex } from 'node:stream';
import type { AmtError } from '../errors';
import type { RedirectionChannel } from './channel';
import { AmtRedirectionError } from './errors';
import { expectType, openRedirection, type RedirectionOptions } from './handshake';
import { REDIRECTION, headed } from './messages';

export interface SolOptions extends RedirectionOptions {
  /** Interval of the console's heartbeats (0x2B), ms; default 5000. */
  keepAliveMs?: number;
}

/**
 * Start SOL parameters (console reference §1.5): MeshCommander's transmit buffer and flush timeout,
 * amtterm's receive timeout, and firmware heartbeats every 5 s.
 */
const START = {
  maxTxBuffer: 10_000,
  txBufferTimeout: 100,
  txOverflowTimeout: 0,
  hostSessionRxTimeout: 10_000,
  hostFifoRxFlushTimeout: 100,
  heartbeatInterval: 5_000,
};
/** Console input per 0x28 message at most (amtterm sends reads of up to 512 bytes). */
const MAX_DATA = 1000;
/** Status bit of 0x29: the host is powered. */
const SYSTEM_POWER = 0x04;

/**
 * A serial-over-LAN session: a Duplex stream whose readable side is the host's serial output and
 * whose writable side types at its console. `end()` ends SOL the way amtterm does (0x22, wait for
 * 0x23, 0x12, close); `destroy()` just closes. `outcome` resolves with why the session ended — null
 * when this side ended it — and never rejects.
 */
export class SolSession extends Duplex {
  /** From the last control message (0x29); undefined until the firmware sent one. */
  hostPowered: boolean | undefined;
  readonly outcome: Promise<AmtError | null>;
  private seq = 1;

  private constructor(
    private readonly channel: RedirectionChannel,
    keepAliveMs: number,
  ) {
    super({ allowHalfOpen: false });
    channel.heartbeat(keepAliveMs, () => headed(REDIRECTION.SOL_HEARTBEAT, this.next()));
    this.outcome = channel.outcome();
    channel.onClose(() => {
      this.push(null);
      if (!this.destroyed) this.destroy();
    });
    channel.listen((message) => this.receive(message));
  }

  /** Opens, authenticates and starts SOL (0x20 → 0x21); rejects with typed errors, leaving nothing open. */
  static async open(options: SolOptions): Promise<SolSession> {
    const channel = await openRedirection(options, 'sol');
    try {
      const start = headed(REDIRECTION.START_SOL, 0, 24);
      Object.values(START).forEach((value, i) => start.writeUInt16LE(value, 8 + 2 * i));
      channel.send(start);
      const reply = await channel.next();
      expectType(channel, reply, REDIRECTION.START_SOL_REPLY);
      if (reply[1] !== 0)
        throw new AmtRedirectionError('SOL_START_FAILED', `${channel.target}: Start SOL refused (status ${reply[1]})`);
      return new SolSession(channel, options.keepAliveMs ?? 5_000);
    } catch (err) {
      channel.close();
      throw err;
    }
  }

  override _read(): void {
    // Host output is pushed as it arrives; the firmware does not wait for the console.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    for (let at = 0; at < chunk.length; at += MAX_DATA) {
      const part = chunk.subarray(at, at + MAX_DATA);
      const head = headed(REDIRECTION.SOL_DATA_TO_HOST, this.next(), 10);
      head.writeUInt16LE(part.length, 8);
      this.channel.send(Buffer.concat([head, part]));
    }
    callback(this.channel.closedBy);
  }

  override _final(callback: (error?: Error | null) => void): void {
    void this.channel.end(headed(REDIRECTION.END_SOL, 0), REDIRECTION.END_SOL_REPLY).then(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.channel.close();
    callback(error);
  }

  private receive(message: Buffer): void {
    switch (message[0]) {
      case REDIRECTION.SOL_DATA_FROM_HOST:
        this.push(message.subarray(10));
        return;
      case REDIRECTION.SOL_CONTROLS_FROM_HOST:
        this.hostPowered = (message[9]! & SYSTEM_POWER) !== 0;
        this.emit('controls', { control: message[8]!, status: message[9]! });
        return;
      case REDIRECTION.SOL_PING:
        this.channel.send(headed(REDIRECTION.SOL_PONG, message.readUInt32LE(4)));
        return;
      case REDIRECTION.SOL_HEARTBEAT:
      case REDIRECTION.SOL_PONG:
        return;
      default:
        this.channel.abort(
          new AmtRedirectionError(
            'REDIRECTION_PROTOCOL_ERROR',
            `${this.channel.target}: message 0x${message[0]!.toString(16)} in a SOL session`,
            'unknown',
          ),
        );
    }
  }

  private next(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }
}
