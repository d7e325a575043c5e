import { expectChecks } from '../../command/expect-options.js';
import { parseExact } from '../../core/exact-json.js';
import type { ResultCheck } from '../../core/expect.js';
import type { ReplyView } from '../../core/expectation.js';
import type { HttpReply } from './call.js';
import type { HttpValues } from './flags.js';

/** What HTTP's reply is to the shared expectations (command/expect-options.ts): its body and headers. */
export function httpView(reply: HttpReply): ReplyView {
  const text = () => reply.body?.toString('utf8') ?? '';
  return { text, json: () => parseExact(text()), headers: () => reply.headers };
}

/** --expect-header, --expect-body, --expect-json and --expect-time over the reply. */
export function bodyChecks(flags: HttpValues): Promise<ResultCheck<HttpReply>[]> {
  return expectChecks(flags, httpView, 'body');
}
