/**
 * Typed errors. Every failure comms-cli reports is one of these, with a contract `kind`
 * (which decides the exit code in exit-codes.ts), a stable `code` scripts can match on,
 * an optional one-line `hint`, and the original error kept as `cause`.
 */
export type ErrorKind =
  | 'usage'
  | 'connect'
  | 'timeout'
  | 'response'
  | 'expectation'
  | 'breaker'
  | 'local'
  | 'interrupted';

export interface CommsErrorOptions {
  hint?: string;
  cause?: unknown;
  code?: string;
}

export class CommsError extends Error {
  readonly kind: ErrorKind;
  readonly code: string;
  readonly hint: string | undefined;

  constructor(kind: ErrorKind, message: string, options: CommsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CommsError';
    this.kind = kind;
    this.code = options.code ?? `COMMS_ERR_${kind.toUpperCase()}`;
    this.hint = options.hint;
  }

  /** The `{kind, message}` shape of the --json contract. */
  toJSON(): { kind: ErrorKind; message: string; code: string; hint?: string } {
    return {
      kind: this.kind,
      message: this.message,
      code: this.code,
      ...(this.hint ? { hint: this.hint } : {}),
    };
  }
}

/** Bad flags, arguments, files or payloads: nothing was sent. Exit 2. */
export class UsageError extends CommsError {
  constructor(message: string, options: CommsErrorOptions = {}) {
    super('usage', message, { code: 'COMMS_ERR_USAGE', ...options });
    this.name = 'UsageError';
  }
}

/** The peer could not be reached: refused, DNS, TLS, no responders, auth rejected. Exit 3. */
export class ConnectError extends CommsError {
  constructor(message: string, options: CommsErrorOptions = {}) {
    super('connect', message, { code: 'COMMS_ERR_CONNECT', ...options });
    this.name = 'ConnectError';
  }
}

/** A per-attempt `--timeout` or the overall `--max-time` ran out. Exit 4. */
export class TimeoutError extends CommsError {
  constructor(message: string, options: CommsErrorOptions = {}) {
    super('timeout', message, { code: 'COMMS_ERR_TIMEOUT', ...options });
    this.name = 'TimeoutError';
  }
}

/** The call completed but failed (HTTP >= 400, non-OK gRPC status, version conflict). Exit 1. */
export class ResponseError extends CommsError {
  constructor(message: string, options: CommsErrorOptions = {}) {
    super('response', message, { code: 'COMMS_ERR_RESPONSE', ...options });
    this.name = 'ResponseError';
  }
}

/** An `--expect-*` check or a load-mode SLO failed. Exit 1. */
export class ExpectationError extends CommsError {
  constructor(message: string, options: CommsErrorOptions = {}) {
    super('expectation', message, { code: 'COMMS_ERR_EXPECTATION', ...options });
    this.name = 'ExpectationError';
  }
}

/** The circuit breaker was open: nothing was sent. Exit 5. */
export class BreakerOpenError extends CommsError {
  constructor(message: string, options: CommsErrorOptions = {}) {
    super('breaker', message, { code: 'COMMS_ERR_BREAKER_OPEN', ...options });
    this.name = 'BreakerOpenError';
  }
}

/** Ctrl-C (SIGINT) stopped the work. Exit 130. */
export class InterruptedError extends CommsError {
  constructor(message = 'interrupted', options: CommsErrorOptions = {}) {
    super('interrupted', message, { code: 'COMMS_ERR_INTERRUPTED', ...options });
    this.name = 'InterruptedError';
  }
}

/**
 * comms-cli could not do its own part: write its output (disk full, closed file), a limit it enforces
 * (--max-body, too many open files), its own stack or string limits. Never the peer's fault (exit 6).
 */
export class LocalError extends CommsError {
  constructor(message: string, options: CommsErrorOptions = {}) {
    super('local', message, { code: 'COMMS_ERR_LOCAL', ...options });
    this.name = 'LocalError';
  }
}
