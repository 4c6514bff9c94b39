import type { Host } from '../host/host';
import { MSG, shortMessage } from './messages';

/**
 * Serial over LAN, firmware side (console reference §1.5–§1.6): after Start SOL the host's serial
 * port is redirected — console input (0x28) goes to the host console, host output leaves as 0x2A,
 * the port's control lines and the host's power as 0x29. The firmware sends heartbeats (0x2B) at
 * the interval the console asked for (amtterm echoes them and gives up after four silent
 * intervals); it does not echo the console's own heartbeats back, or amtterm and the firmware
 * would bounce one forever.
 */

/** Control bits of 0x29: RTS and DTR asserted while the host runs its console. */
const CONTROL_RTS_DTR = 0x03;
/** Status bit of 0x29: system power on (amtterm reports the host as off when clear). */
const STATUS_SYSTEM_POWER = 0x04;
/** Largest 0x2A payload sent, whatever buffer the console offers. */
const MAX_CHUNK = 4096;

export class SolChannel {
  private seq = 0;
  private chunk = 1000;
  private heartbeat: NodeJS.Timeout | null = null;
  private readonly toConsole = (data: Buffer) => this.sendData(data);
  private readonly onPower = () => this.write(this.controls());

  constructor(
    private readonly host: Host,
    private readonly write: (bytes: Buffer) => void,
  ) {}

  /**
   * Start SOL (0x20, 24 bytes: LE16 MaxTxBuffer at 8, HeartbeatInterval at 18). The 23-byte reply
   * and the first control message leave in one write: amtterm 1.4 discards whatever shares a read
   * with 0x21, so nothing the console must see may follow it before the console speaks again.
   */
  start(message: Buffer): void {
    const maxTx = message.readUInt16LE(8);
    const interval = message.readUInt16LE(18);
    this.chunk = Math.min(MAX_CHUNK, maxTx > 0 ? maxTx : 1000);
    const reply = Buffer.alloc(23);
    reply[0] = MSG.START_SOL_REPLY;
    this.write(Buffer.concat([reply, this.controls()]));
    this.host.console.attach(this.toConsole);
    this.host.on('state', this.onPower);
    if (interval > 0) {
      this.heartbeat = setInterval(() => this.write(shortMessage(MSG.SOL_HEARTBEAT, this.next())), interval);
      this.heartbeat.unref();
    }
  }

  /** A console message while SOL runs; false when the type does not belong to SOL. */
  handle(message: Buffer): boolean {
    switch (message[0]) {
      case MSG.SOL_DATA_TO_HOST:
        this.host.console.input(message.subarray(10));
        return true;
      case MSG.SOL_KEEP_ALIVE_PING:
        this.write(shortMessage(MSG.SOL_KEEP_ALIVE_PONG, message.readUInt32LE(4)));
        return true;
      case MSG.SOL_HEARTBEAT:
      case MSG.SOL_MESH_SETTINGS:
        return true;
      case MSG.END_SOL:
        this.stop();
        this.write(shortMessage(MSG.END_SOL_REPLY, this.next()));
        return true;
      default:
        return false;
    }
  }

  stop(): void {
    this.host.console.detach(this.toConsole);
    this.host.off('state', this.onPower);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  private controls(): Buffer {
    const on = this.host.state === 'S0';
    const message = Buffer.alloc(10);
    message[0] = MSG.SOL_CONTROLS_FROM_HOST;
    message.writeUInt32LE(this.next(), 4);
    message[8] = on ? CONTROL_RTS_DTR : 0;
    message[9] = on ? STATUS_SYSTEM_POWER : 0;
    return message;
  }

  private sendData(data: Buffer): void {
    for (let at = 0; at < data.length; at += this.chunk) {
      const part = data.subarray(at, at + this.chunk);
      const head = Buffer.alloc(10);
      head[0] = MSG.SOL_DATA_FROM_HOST;
      head.writeUInt32LE(this.next(), 4);
      head.writeUInt16LE(part.length, 8);
      this.write(Buffer.concat([head, part]));
    }
  }

  private next(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }
}
