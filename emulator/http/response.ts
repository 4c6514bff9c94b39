/**
 * Byte-exact HTTP responses as AMT's web server writes them (reference §1.2): `Name: value` with
 * exactly one space (MeshCentral slices at colon+2), chunked bodies for 200 and fault answers (RPS
 * only parses chunked 200s), `Connection: close` on 400/401.
 */
export interface ResponseSpec {
  status: number;
  headers: [string, string][];
  /** Headers written after the framing header (Content-Length / Transfer-Encoding), e.g. `Connection`. */
  after?: [string, string][];
  body: Buffer | string;
  chunked: boolean;
}

const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Request Entity Too Large',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  505: 'HTTP Version not supported',
};

export function formatResponse(spec: ResponseSpec): Buffer {
  const body = typeof spec.body === 'string' ? Buffer.from(spec.body, 'utf8') : spec.body;
  const lines = [`HTTP/1.1 ${spec.status} ${REASONS[spec.status] ?? 'Error'}`];
  for (const [name, value] of spec.headers) lines.push(`${name}: ${value}`);
  if (spec.chunked) lines.push('Transfer-Encoding: chunked');
  else lines.push(`Content-Length: ${body.length}`);
  for (const [name, value] of spec.after ?? []) lines.push(`${name}: ${value}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  if (!spec.chunked) return Buffer.concat([head, body]);
  const parts: Buffer[] = [head];
  if (body.length > 0) parts.push(Buffer.from(`${body.length.toString(16)}\r\n`, 'latin1'), body, Buffer.from('\r\n'));
  parts.push(Buffer.from('0\r\n\r\n', 'latin1'));
  return Buffer.concat(parts);
}
