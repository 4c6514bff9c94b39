import type net from 'node:net';
import type { Logger } from 'pino';
import type { Nvram } from '../device/nvram';
import { parseAmtVersion } from '../device/version';
import type { Host } from '../host/host';
import { RedirectionAuthenticator } from './auth';
import { IderChannel } from './ider';
import { INTEL_IANA, MSG, START_STATUS, consoleMessageLength } from './messages';
import { SolChannel } from './sol';

/**
 * One connection to the redirection port: session start (0x10 → 0x11) for one session type,
 * authentication (0x13 → 0x14), then the SOL or IDE-R channel until EndRedirectionSession (0x12)
 * or the socket closes. A message out of order, of unknown type or beyond any real size ends the
 * connection: the console is hostile until authenticated, and a confused one gets no second guess.
 */

/** AMT_RedirectionService.EnabledState = 32768 + IDER (1) + SOL (2). */
const REDIRECTION_BASE = 32768;
const FEATURE_BIT = { sol: 2, ider: 1 } as const;
/** Unparsed console bytes kept at most: one full SOL data message plus headroom. */
const MAX_BUFFERED = 80 * 1024;

type Kind = 'sol' | 'ider';
type Stage = 'start' | 'auth' | 'authenticated' | 'running' | 'closed';

const SESSION_TYPES: Readonly<Record<string, Kind>> = { 'SOL ': 'sol', IDER: 'ider' };

export class RedirectionSession {
  private buffer = Buffer.alloc(0);
  private stage: Stage = 'start';
  private kind: Kind | null = null;
  private counted = false;
  private sol: SolChannel | null = null;
  private ider: IderChannel | null = null;
  private readonly auth: RedirectionAuthenticator;

  constructor(
    private readonly socket: net.Socket,
    private readonly nvram: () => Nvram,
    private readonly host: Host,
    private readonly log: Logger,
  ) {
    this.auth = new RedirectionAuthenticator(nvram);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('close', () => this.cleanup());
  }

  /** Ends the session from the firmware side (power loss, reboot, device stop). */
  drop(): void {
    this.socket.destroy();
  }

  private get closed(): boolean {
    return this.stage === 'closed';
  }

  private receive(chunk: Buffer): void {
    if (this.closed) return;
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (this.buffer.length > MAX_BUFFERED) return this.refuse('console sent more than a message can hold');
    for (;;) {
      const length = consoleMessageLength(this.buffer);
      if (length === null) return;
      if (length < 0) return this.refuse(`unknown message type 0x${this.buffer[0]!.toString(16)}`);
      const message = this.buffer.subarray(0, length);
      this.buffer = this.buffer.subarray(length);
      this.handle(message);
      if (this.closed) return;
    }
  }

  private handle(message: Buffer): void {
    const type = message[0]!;
    if (type === MSG.END_REDIRECTION_SESSION) return this.end();
    switch (this.stage) {
      case 'start':
        if (type !== MSG.START_REDIRECTION_SESSION) return this.refuse('expected StartRedirectionSession');
        return this.start(message);
      case 'auth':
        if (type !== MSG.AUTHENTICATE_SESSION) return this.refuse('expected AuthenticateSession');
        return this.authenticate(message);
      case 'authenticated':
        if (this.kind === 'sol' && type === MSG.START_SOL) {
          this.stage = 'running';
          this.sol = new SolChannel(this.host, (bytes) => this.send(bytes));
          return this.sol.start(message);
        }
        if (this.kind === 'ider' && type === MSG.START_IDER) {
          this.stage = 'running';
          this.ider = new IderChannel(this.host, this.firmwareVersion(), (bytes) => this.send(bytes));
          return this.ider.start();
        }
        return this.refuse(`unexpected message 0x${type.toString(16)} before the channel started`);
      case 'running':
        if (this.sol?.handle(message) || this.ider?.handle(message)) return;
        return this.refuse(`unexpected message 0x${type.toString(16)} in a ${this.kind} session`);
      case 'closed':
        return;
    }
  }

  /**
   * 0x10 + 4-byte type → 0x11, 13 bytes: status, protocol 1.0, firmware major/minor, IANA, no OEM
   * data (amtterm 1.4 reads exactly 13). Unsupported (3) for KVM and for a feature the
   * AMT_RedirectionService state leaves disabled, busy (2) while the same kind of session is
   * already open [inferred: the codes are the Open AMT console's; which refusal gets which is not
   * documented].
   */
  private start(message: Buffer): void {
    const kind = SESSION_TYPES[message.subarray(4, 8).toString('latin1')];
    const enabled = this.nvram().redirection.enabledState - REDIRECTION_BASE;
    let status: number = START_STATUS.SUCCESS;
    if (!kind || enabled < 0 || (enabled & FEATURE_BIT[kind]) === 0) status = START_STATUS.UNSUPPORTED;
    else if (this.host.sessionOpen(kind)) status = START_STATUS.BUSY;
    const [major, minor] = this.firmwareVersion();
    const reply = Buffer.alloc(13);
    reply[0] = MSG.START_REDIRECTION_SESSION_REPLY;
    reply[1] = status;
    reply[4] = 1;
    reply[6] = major;
    reply[7] = minor;
    reply.writeUInt32LE(INTEL_IANA, 8);
    this.send(reply);
    if (status !== START_STATUS.SUCCESS) return this.refuse(`session type refused with status ${status}`, false);
    this.kind = kind!;
    this.stage = 'auth';
  }

  private authenticate(message: Buffer): void {
    const { reply, outcome } = this.auth.handle(message);
    this.send(reply);
    if (outcome === 'failed') return this.refuse('authentication failed', false);
    if (outcome !== 'authenticated') return;
    if (this.host.sessionOpen(this.kind!)) return this.refuse('a session of this kind opened meanwhile', false);
    this.host.openSession(this.kind!);
    this.counted = true;
    this.stage = 'authenticated';
  }

  private end(): void {
    this.cleanup();
    this.socket.end();
  }

  /** Ends the connection; `loud` logs it as the console's fault. */
  private refuse(reason: string, loud = true): void {
    if (loud) this.log.info({ uuid: this.nvram().uuid, reason }, 'redirection session refused');
    this.cleanup();
    this.socket.end();
  }

  private cleanup(): void {
    if (this.stage === 'closed') return;
    this.stage = 'closed';
    this.sol?.stop();
    this.ider?.stop();
    if (this.counted) this.host.closeSession(this.kind!);
    this.counted = false;
  }

  private send(bytes: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  private firmwareVersion(): [number, number] {
    const v = parseAmtVersion(this.nvram().amtVersion);
    return [v?.major ?? 0, v?.minor ?? 0];
  }
}
