import type { Command } from 'commander';
import { UsageError } from '../../errors/comms-error.js';
import { HTTP_METHODS } from '../../transports/http/call.js';
import type { CommandContext } from '../context.js';
import { addCallOptions, collect } from '../options.js';
import type { SetExit } from '../program.js';

/** HTTP-specific flags, as commander parses them. */
export interface HttpFlags {
  header?: string[];
  data?: string;
  jsonData?: string;
  query?: string[];
  user?: string;
  location?: boolean;
  maxRedirs?: string;
  output?: string;
  include?: boolean;
  decompress?: boolean;
  http2?: boolean;
  cacert?: string;
  cert?: string;
  key?: string;
  insecure?: boolean;
  servername?: string;
  expectStatus?: string;
  expectHeader?: string[];
  expectBody?: string[];
  expectJson?: string[];
  expectTime?: string;
  retryUnsafe?: boolean;
  idempotencyKey?: string;
}

const METHODS: readonly string[] = HTTP_METHODS;

/** `comms-cli http <method> <url>`: declarations only; the undici transport is imported when it runs. */
export function registerHttp(program: Command, ctx: CommandContext, setExit: SetExit): void {
  const cmd = program
    .command('http')
    .description('send an HTTP request (undici): retries, timeouts, breaker, timing, expectations, load')
    .argument('<method>', `one of ${METHODS.join('|')}`)
    .argument('<url>', 'http:// or https:// URL')
    .option('-H, --header <header>', "request header 'Name: value' (repeatable)", collect)
    .option('-d, --data <data>', 'request body: text, @file, or @- for stdin')
    .option('--json-data <json>', 'JSON request body (text, @file, @-); sets Content-Type and Accept')
    .option('--query <name=value>', 'add a query parameter (repeatable)', collect)
    .option('-u, --user <user:password>', 'basic authentication')
    .option('-L, --location', 'follow redirects')
    .option('--max-redirs <n>', 'most redirects to follow with -L', '10')
    .option('-o, --output <file>', 'write the body to a file (streamed; only kept when the call succeeds)')
    .option('-i, --include', 'show response headers (on stderr)')
    .option('--no-decompress', 'do not decode gzip/deflate/br bodies')
    .option('--http2', 'allow HTTP/2 (negotiated with ALPN over https)')
    .option('--cacert <file>', 'trust this CA certificate (PEM)')
    .option('--cert <file>', 'client certificate for mutual TLS (PEM)')
    .option('--key <file>', 'client private key for mutual TLS (PEM)')
    .option('-k, --insecure', 'skip TLS certificate verification')
    .option('--servername <name>', 'TLS server name (SNI) to send and verify')
    .option('--expect-status <spec>', "expected status: 200, 2xx, '200,204', 200-299 (exit 1 otherwise)")
    .option('--expect-header <spec>', "expected header 'Name: text' or 'Name: /regex/' (repeatable)", collect)
    .option('--expect-body <spec>', 'expected body substring or /regex/ (repeatable)', collect)
    .option(
      '--expect-json <path=value>',
      "expected JSON value, e.g. '$.items[0].id=42' (repeatable)",
      collect,
    )
    .option('--expect-time <dur>', 'expected total time at most this')
    .option('--retry-unsafe', 'allow retries of POST/PATCH (non-idempotent) requests')
    .option(
      '--idempotency-key <key|auto>',
      'send Idempotency-Key (auto: one UUID kept across retries); makes retries safe',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli http get http://127.0.0.1:8080/health --expect-status 2xx
  $ comms-cli http post https://api.local/orders --json-data @order.json --idempotency-key auto --retries 3
  $ comms-cli http get http://127.0.0.1:8080/echo -n 10000 -c 50 --expect-p99 50ms`,
    )
    .action(async (method: string, url: string, flags: HttpFlags) => {
      if (!METHODS.includes(method.toLowerCase())) {
        throw new UsageError(`unknown HTTP method '${method}'`, { hint: `use one of ${METHODS.join(', ')}` });
      }
      const { runHttp } = await import('../../transports/http/run.js');
      setExit(await runHttp(method, url, flags, ctx));
    });
  addCallOptions(cmd);
}
