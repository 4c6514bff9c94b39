/**
 * A bounded HTTP/1.1 request parser for the device ports. AMT's web server is not Node's: it must
 * answer with AMT's exact framing, accept both chunked and Content-Length request bodies (RPS
 * sends chunked, MeshCentral Content-Length), require neither Content-Type nor a meaningful Host,
 * and refuse oversized input without ever buffering more than the limits below.
 */
export const MAX_HEADER_BYTES = 16 * 1024;
export const MAX_BODY_BYTES = 256 * 1024;

export interface HttpRequest {
  method: string;
  target: string;
  version: string;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Map<string, string>;
  body: Buffer;
}

export type ParseResult =
  { kind: 'request'; request: HttpRequest } | { kind: 'incomplete' } | { kind: 'error'; status: 400 | 413 | 431 | 505 };

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export class RequestParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  /** Parses the next complete request off the buffer. After an error the parser must be discarded. */
  next(): ParseResult {
    const headerEnd = this.buf.indexOf(HEADER_END);
    if (headerEnd < 0) {
      return this.buf.length > MAX_HEADER_BYTES ? { kind: 'error', status: 431 } : { kind: 'incomplete' };
    }
    if (headerEnd > MAX_HEADER_BYTES) return { kind: 'error', status: 431 };
    const head = this.buf.subarray(0, headerEnd).toString('latin1').split('\r\n');
    const requestLine = /^([A-Za-z]+) (\S+) HTTP\/(\d\.\d)$/.exec(head[0] ?? '');
    if (!requestLine) return { kind: 'error', status: 400 };
    const version = requestLine[3]!;
    if (version !== '1.1' && version !== '1.0') return { kind: 'error', status: 505 };
    const headers = new Map<string, string>();
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      if (!TOKEN.test(name)) return { kind: 'error', status: 400 };
      const key = name.toLowerCase();
      const value = line.slice(colon + 1).trim();
      const prior = headers.get(key);
      headers.set(key, prior === undefined ? value : `${prior}, ${value}`);
    }
    const bodyStart = headerEnd + HEADER_END.length;
    const transferEncoding = headers.get('transfer-encoding');
    const body = transferEncoding
      ? /(^|,)\s*chunked\s*$/i.test(transferEncoding)
        ? this.chunkedBody(bodyStart)
        : ({ kind: 'error', status: 400 } as const)
      : this.lengthBody(bodyStart, headers.get('content-length'));
    if (body.kind !== 'body') return body;
    this.buf = this.buf.subarray(body.end);
    return {
      kind: 'request',
      request: { method: requestLine[1]!, target: requestLine[2]!, version, headers, body: body.data },
    };
  }

  private lengthBody(
    start: number,
    header: string | undefined,
  ): { kind: 'body'; data: Buffer; end: number } | Exclude<ParseResult, { kind: 'request' }> {
    if (header === undefined) return { kind: 'body', data: Buffer.alloc(0), end: start };
    if (!/^\d{1,10}$/.test(header)) return { kind: 'error', status: 400 };
    const length = Number(header);
    if (length > MAX_BODY_BYTES) return { kind: 'error', status: 413 };
    if (this.buf.length < start + length) return { kind: 'incomplete' };
    return { kind: 'body', data: this.buf.subarray(start, start + length), end: start + length };
  }

  private chunkedBody(
    start: number,
  ): { kind: 'body'; data: Buffer; end: number } | Exclude<ParseResult, { kind: 'request' }> {
    const parts: Buffer[] = [];
    let total = 0;
    let pos = start;
    for (;;) {
      const lineEnd = this.buf.indexOf(CRLF, pos);
      if (lineEnd < 0) return this.buf.length - pos > 64 ? { kind: 'error', status: 400 } : { kind: 'incomplete' };
      const sizeText = this.buf.subarray(pos, lineEnd).toString('latin1').split(';')[0]!.trim();
      if (!/^[0-9A-Fa-f]{1,8}$/.test(sizeText)) return { kind: 'error', status: 400 };
      const size = parseInt(sizeText, 16);
      pos = lineEnd + CRLF.length;
      if (size === 0) {
        // Trailers (ignored) up to the empty line.
        for (;;) {
          const trailerEnd = this.buf.indexOf(CRLF, pos);
          if (trailerEnd < 0)
            return this.buf.length - pos > MAX_HEADER_BYTES ? { kind: 'error', status: 431 } : { kind: 'incomplete' };
          const empty = trailerEnd === pos;
          pos = trailerEnd + CRLF.length;
          if (empty) return { kind: 'body', data: Buffer.concat(parts, total), end: pos };
        }
      }
      total += size;
      if (total > MAX_BODY_BYTES) return { kind: 'error', status: 413 };
      if (this.buf.length < pos + size + CRLF.length) return { kind: 'incomplete' };
      if (!this.buf.subarray(pos + size, pos + size + CRLF.length).equals(CRLF)) return { kind: 'error', status: 400 };
      parts.push(this.buf.subarray(pos, pos + size));
      pos += size + CRLF.length;
    }
  }
}
