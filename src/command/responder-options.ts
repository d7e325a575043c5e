import { duration, flag, fraction, integer, list, text } from './option.js';

/** How long a responder's --exec command may run when --exec-timeout is not given. */
export const DEFAULT_RESPONDER_EXEC_TIMEOUT_MS = 30_000;

/**
 * What every broker responder (`amqp reply`, `mqtt reply`) takes: the answer (echo, --body, --exec)
 * and the faults a requester's retries and breaker are watched against. One table, so the flags and
 * their help read the same on every transport; `envNames` lists the variables --exec sees.
 */
export function responderOptions(envNames: string) {
  return {
    count: integer('--count <n>', 'exit 0 after answering n requests', { min: 1 }),
    body: text('--body <text|@file>', 'reply with this body instead of echoing the request'),
    exec: text(
      '--exec <command>',
      `run a shell command per request: the payload on its stdin, its stdout is the reply (env ${envNames})`,
    ),
    execTimeout: duration(
      '--exec-timeout <dur>',
      'kill an --exec command running longer than this (error 504)',
      { default: DEFAULT_RESPONDER_EXEC_TIMEOUT_MS },
    ),
    header: list('-H, --header <header>', "reply header 'Name: value' (repeatable)", { mapSyntax: ': ' }),
    delay: duration('--delay <dur>', 'wait this long before replying'),
    failRate: fraction('--fail-rate <p>', 'drop this fraction of requests without replying (0.3 or 30%)'),
    failFirst: integer(
      '--fail-first <n>',
      'drop the first n requests without replying (deterministic faults)',
      { default: 0 },
    ),
    raw: flag('--raw', 'print request payloads only'),
  };
}
