import { Chalk, type ChalkInstance } from 'chalk';

/**
 * Colour follows the contract: `--no-color` and `NO_COLOR` turn it off, `FORCE_COLOR` forces it on,
 * otherwise it is on only when the stream is a TTY. Each stream decides for itself (stdout may be
 * piped while stderr is a terminal).
 */
export function colourFor(stream: NodeJS.WriteStream, flag: boolean | undefined): ChalkInstance {
  return new Chalk({ level: colourLevel(stream, flag) });
}

export function colourLevel(stream: { isTTY?: boolean }, flag: boolean | undefined): 0 | 1 | 2 | 3 {
  if (flag === false) return 0;
  const force = process.env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') {
    const n = Number(force);
    return n >= 1 && n <= 3 ? (n as 1 | 2 | 3) : 1;
  }
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return 0;
  if (force === '0' || force === 'false') return 0;
  return stream.isTTY ? 2 : 0;
}
