import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { waitFor } from './client';

/**
 * A real command-line client (amtterm, amttool) driven through pipes: input is written when the
 * test decides, output is awaited with a deadline, never with sleeps.
 */
export class CliRun {
  stdout = '';
  stderr = '';
  exitCode: number | null = null;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(command: string, args: string[], env: Record<string, string> = {}) {
    this.child = spawn(command, args, { env: { ...process.env, ...env, LC_ALL: 'C' } });
    this.child.stdout.on('data', (chunk: Buffer) => (this.stdout += chunk.toString('latin1')));
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('latin1')));
    this.child.on('exit', (code) => (this.exitCode = code ?? -1));
  }

  /** Everything the program printed, both streams. */
  get output(): string {
    return this.stdout + this.stderr;
  }

  type(text: string): void {
    this.child.stdin.write(text);
  }

  async waitForOutput(text: string, ms = 10_000): Promise<void> {
    await waitFor(
      () => this.output.includes(text),
      ms,
      `"${text}" in the output of ${this.child.spawnfile}:\n${this.output}`,
    );
  }

  async waitForExit(ms = 10_000): Promise<number> {
    return waitFor(() => (this.exitCode === null ? undefined : { code: this.exitCode }), ms, 'exit').then(
      (e) => e.code,
    );
  }

  kill(): void {
    if (this.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Fails with the Debian package to install when a real client is missing (ground rule 1: no stand-ins). */
export function requireTool(command: string, debianPackages: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
  if (!found)
    throw new Error(`${command} is not installed: apt-get install -y --no-install-recommends ${debianPackages}`);
}
