/**
 * The emulated host's serial console (COM port the firmware redirects over SOL): a Linux getty on
 * ttyS0. Like a real one it prints nothing until someone presses Enter, then the issue banner and
 * a login prompt; it echoes the user name but not the password, refuses every login, and prints
 * its boot messages when the host boots. Nothing is printed while the host is not in S0.
 */

const TRANSCRIPT_LIMIT = 64 * 1024;
const BACKSPACE = new Set([0x08, 0x7f]);

export interface ConsoleIdentity {
  hostName: string;
  amtVersion: string;
}

export class HostConsole {
  private sink: ((data: Buffer) => void) | null = null;
  private mode: 'login' | 'password' = 'login';
  private line = '';
  private lastWasCr = false;
  private written = '';

  constructor(
    private readonly identity: () => ConsoleIdentity,
    private readonly powered: () => boolean,
  ) {}

  /** Everything the host printed (most recent 64 KiB), whether or not a console was attached. */
  transcript(): string {
    return this.written;
  }

  /** The SOL session taking over the serial port; host output goes to `sink` until detached. */
  attach(sink: (data: Buffer) => void): void {
    this.sink = sink;
  }

  detach(sink: (data: Buffer) => void): void {
    if (this.sink === sink) this.sink = null;
  }

  /** Bytes typed at the console (SOL "data to host"). CR, LF and CR LF each end a line. */
  input(bytes: Buffer): void {
    if (!this.powered()) return;
    for (const byte of bytes) {
      const cr = byte === 0x0d;
      if (byte === 0x0a && this.lastWasCr) {
        this.lastWasCr = false;
        continue;
      }
      this.lastWasCr = cr;
      if (cr || byte === 0x0a) this.enter();
      else if (BACKSPACE.has(byte)) this.erase();
      else if (byte >= 0x20 && byte < 0x7f) {
        this.line += String.fromCharCode(byte);
        if (this.mode === 'login') this.print(String.fromCharCode(byte));
      }
    }
  }

  /** The host came up (power on, reset, power cycle): BIOS lines, then the getty. */
  boot(bootDevice: string): void {
    this.mode = 'login';
    this.line = '';
    this.print(
      `\r\nIntel(R) Boot Agent: POST complete\r\nBooting from ${bootDevice}...\r\n${this.issue()}${this.prompt()}`,
    );
  }

  private enter(): void {
    if (this.mode === 'login' && this.line === '') this.print(`\r\n${this.issue()}${this.prompt()}`);
    else if (this.mode === 'login') {
      this.mode = 'password';
      this.print('\r\nPassword: ');
    } else {
      this.mode = 'login';
      this.print(`\r\n\r\nLogin incorrect\r\n${this.prompt()}`);
    }
    this.line = '';
  }

  private erase(): void {
    if (this.line === '') return;
    this.line = this.line.slice(0, -1);
    if (this.mode === 'login') this.print('\b \b');
  }

  private name(): string {
    return this.identity().hostName || 'localhost';
  }

  private issue(): string {
    return `\r\namtflow emulated host ${this.name()} (Intel(R) AMT ${this.identity().amtVersion}) ttyS0\r\n\r\n`;
  }

  private prompt(): string {
    return `${this.name()} login: `;
  }

  private print(text: string): void {
    this.written = (this.written + text).slice(-TRANSCRIPT_LIMIT);
    this.sink?.(Buffer.from(text, 'latin1'));
  }
}
