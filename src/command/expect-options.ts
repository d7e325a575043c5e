import { formatMs } from '../core/duration.js';
import { expectTime, type ResultCheck } from '../core/expect.js';
import { type ExpectWording, prepareExpectJson, type ReplyView, replyChecks } from '../core/expectation.js';
import { type MessageMatcher, parseMessageMatcher } from '../core/message-match.js';
import { ExpectationError } from '../errors/comms-error.js';
import { isSecretHeader, isSecretValue, REDACTED } from '../output/redact.js';
import { duration, integer, list, type OptionValues } from './option.js';

/**
 * The expectations every call command takes (http, grpc call, nats/amqp/mqtt request): one table,
 * one implementation (core/expectation.ts). `--expect-status` is each transport's own (HTTP numbers
 * and classes, gRPC status names), declared next to these in its flags.ts.
 */
export const EXPECT_OPTIONS = {
  expectHeader: list(
    '--expect-header <spec>',
    "expected header/metadata 'Name: text' or 'Name: /regex/' (repeatable)",
    { mapSyntax: ': ' },
  ),
  expectBody: list('--expect-body <spec>', 'expected body/payload substring or /regex/ (repeatable)'),
  expectJson: list(
    '--expect-json <path=value>',
    "expected JSON value: '$.items[0].id=42', '$.name=/re/', '$.qty>0', '$.items.length>=2' (repeatable)",
    { mapSyntax: '=' },
  ),
  expectTime: duration('--expect-time <dur>', 'expected total time at most this'),
};
export type ExpectValues = OptionValues<typeof EXPECT_OPTIONS>;

/** The expectations of commands that receive a stream of messages (subscribe, consume). */
export const EXPECT_STREAM_OPTIONS = {
  expectCount: integer(
    '--expect-count <n>',
    'exactly n messages must arrive before the stream ends (--count, --timeout, Ctrl-C); exit 1 otherwise',
    { min: 0 },
  ),
  expectMessage: list(
    '--expect-message <spec>',
    "a received message must match: text, /regex/, or a JSON test such as '$.type=tick', '$.qty>0' (repeatable)",
  ),
};
export type ExpectStreamValues = OptionValues<typeof EXPECT_STREAM_OPTIONS>;

/** Are any of the payload expectations given (the payload must then be kept whole)? */
export function wantsPayload(values: ExpectValues): boolean {
  return values.expectBody.length + values.expectJson.length > 0;
}

/**
 * The ResultChecks of EXPECT_OPTIONS for a command, in the order HTTP always ran them: headers, body,
 * JSON, then time. Bad specs are usage errors (exit 2) before anything is sent. Header values named
 * in a failure are redacted when secret, unless --show-secrets.
 */
export async function expectChecks<R>(
  values: ExpectValues & { showSecrets?: boolean },
  view: (reply: R) => ReplyView,
  payload: string,
): Promise<ResultCheck<R>[]> {
  await prepareExpectJson(values.expectJson);
  const wording: ExpectWording = {
    payload,
    ...(values.showSecrets
      ? {}
      : { redact: (name: string, v: string) => (isSecretHeader(name) || isSecretValue(v) ? REDACTED : v) }),
  };
  const checks: ResultCheck<R>[] = replyChecks(values, view, wording);
  if (values.expectTime !== undefined)
    checks.push(expectTime(values.expectTime, formatMs(values.expectTime)));
  return checks;
}

/** The stream expectations, parsed up front (exit 2 on a bad spec). */
export interface StreamExpectations {
  readonly count: number | undefined;
  readonly messages: readonly MessageMatcher[];
}

export function streamExpectationsFrom(values: ExpectStreamValues): StreamExpectations {
  return {
    count: values.expectCount,
    messages: values.expectMessage.map((s) => parseMessageMatcher(s, '--expect-message')),
  };
}

/**
 * The stream expectations of one subscription, judged as messages arrive:
 * - `--expect-count N` with `--timeout`: the timeout is the end of a window, exactly N must arrive in
 *   it (an N+1-th fails at once); without `--timeout` or `--count` it stops after N, as `--count N`.
 * - `--expect-message SPEC`: some message must match each spec; without `--count`/`--expect-count` the
 *   stream stops as soon as every spec has matched.
 */
export class StreamJudge {
  readonly #expect: StreamExpectations;
  readonly #matched: boolean[];
  readonly #count: number | undefined;
  readonly #timeoutMs: number | undefined;
  #received = 0;

  constructor(
    expect: StreamExpectations,
    limits: { count: number | undefined; timeoutMs: number | undefined },
  ) {
    this.#expect = expect;
    this.#matched = expect.messages.map(() => false);
    this.#count = limits.count;
    this.#timeoutMs = limits.timeoutMs;
  }

  /** Any stream expectation given? */
  get active(): boolean {
    return this.#expect.count !== undefined || this.#expect.messages.length > 0;
  }

  /** --expect-count with --timeout: the timeout ends the window normally (no exit 4). */
  get windowed(): boolean {
    return this.#expect.count !== undefined && this.#timeoutMs !== undefined;
  }

  /** Record one message (its payload as text); true when the stream should stop now. */
  seen(text: string): boolean {
    this.#received += 1;
    this.#expect.messages.forEach((m, i) => {
      if (!this.#matched[i] && m.test(text)) this.#matched[i] = true;
    });
    const want = this.#expect.count;
    if (want !== undefined) {
      if (this.#received > want) return true;
      if (this.#received === want && this.#timeoutMs === undefined && this.#count === undefined) return true;
      return false;
    }
    return this.#expect.messages.length > 0 && this.#count === undefined && this.#matched.every(Boolean);
  }

  /** The failure (one line naming the expectation and what arrived), or undefined. */
  failure(): string | undefined {
    return judgeStream(this.#expect, this.#received, this.#matched);
  }

  /**
   * The verdict when the stream ended: 'ok' (exit 0 whatever the timeout says), an ExpectationError
   * (exit 1), or undefined to let the command decide as without these options (Ctrl-C; a --timeout
   * before the first message is still exit 4, as `subscribe --timeout` documents).
   */
  end(how: { interrupted: boolean; timedOut: boolean; where: string }): 'ok' | ExpectationError | undefined {
    if (!this.active || how.interrupted) return undefined;
    if (how.timedOut && !this.windowed && this.#received < (this.#count ?? 1)) return undefined;
    const failure = this.failure();
    if (failure !== undefined) return new ExpectationError(`${failure} on '${how.where}'`);
    return how.timedOut && this.windowed ? 'ok' : undefined;
  }
}

/**
 * Judge a finished stream: the failure (one line naming the expectation and what arrived), or
 * undefined. `matched[i]` says whether some message matched `messages[i]`.
 */
export function judgeStream(
  expect: StreamExpectations,
  received: number,
  matched: readonly boolean[],
): string | undefined {
  if (expect.count !== undefined && received !== expect.count)
    return `expected ${expect.count} message${expect.count === 1 ? '' : 's'}, got ${received}${received > expect.count ? ' (or more)' : ''}`;
  const missing = expect.messages.findIndex((_m, i) => !matched[i]);
  if (missing >= 0)
    return `expected a message matching ${expect.messages[missing]?.spec}, none of ${received} did`;
  return undefined;
}
