import { type AllowList, isAllowed } from './allow.js';

/** Commands whose load mode a worker runs (call commands); nats only for request/publish. */
const CALL_COMMANDS: Record<string, readonly string[] | undefined> = {
  http: undefined,
  grpc: ['call'],
  nats: ['request', 'publish', 'req', 'pub'],
  ws: undefined,
  sse: undefined,
  amqp: ['publish', 'request'],
  mqtt: ['publish', 'request'],
};
/** Top-level aliases of call commands (`comms-cli publish` is `comms-cli nats publish`). */
const ALIASES: Record<string, readonly string[]> = {
  publish: ['nats', 'publish'],
  request: ['nats', 'request'],
};

/**
 * Commands whose target is a broker named by a flag; without that flag the command talks to the
 * loopback default (the worker scrubs NATS_URL, AMQP_URL, MQTT_URL from its environment, so no
 * other default applies), which must be allowed too.
 */
const BROKER_FLAGS: Record<string, readonly string[]> = {
  nats: ['-s', '--server'],
  amqp: ['--url'],
  mqtt: ['--url'],
};
const DEFAULT_BROKER_HOST = '127.0.0.1';

/** The command and subcommand of a plan, aliases resolved: `['nats', 'publish']`. */
export function commandOf(argv: readonly string[]): [string | undefined, string | undefined] {
  const alias = argv[0] !== undefined ? ALIASES[argv[0]] : undefined;
  return alias ? [alias[0], alias[1]] : [argv[0], argv[1]];
}

/** Flags whose value is a local file the worker would read or write. */
const FILE_FLAGS = new Set([
  '-o',
  '--output',
  '--proto',
  '--proto-path',
  '--import-path',
  '-I',
  '--protoset',
  '--cacert',
  '--cert',
  '--key',
  '--tls-ca',
  '--tls-cert',
  '--tls-key',
  '--creds',
  '--nkey',
  '--breaker-state',
  '--report',
  // A nats CLI context is a file under the worker's home (with credentials in it).
  '--context',
]);
/** Flags that run programs. */
const EXEC_FLAGS = new Set(['--exec']);
/** Flags only a coordinator takes: a plan carrying them would fan out again. */
const COORDINATOR_FLAGS = new Set(['--workers', '--workers-server']);
const LOAD_FLAGS = /^(-n|--requests|--duration|--rate)(=|$)|^-n\d/;
const SERVER_FLAGS = new Set(['-s', '--server', '--url']);

const URL_RE = /^[a-z][a-z0-9+.-]*:\/\//i;
const HOST_PORT_RE = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d+$/;

/**
 * Why a worker refuses this plan, or undefined when it may run it. A worker runs load plans of call
 * commands only, never reads or writes its own files (@file payloads, --proto, TLS/creds files, -o),
 * never runs programs (--exec, exec://), and sends traffic only to hosts inside its --allow-targets.
 */
export function refusal(argv: readonly string[], allow: AllowList): string | undefined {
  const [command, sub] = commandOf(argv);
  if (command === undefined || !(command in CALL_COMMANDS))
    return `'${command ?? ''}' is not a call command (a worker runs http, grpc call, nats request/publish ... in load mode)`;
  const subs = CALL_COMMANDS[command];
  if (subs && !subs.includes(sub ?? ''))
    return `'${command} ${sub ?? ''}' is not a call command a worker runs`;
  if (!argv.some((a) => LOAD_FLAGS.test(a))) return 'not a load plan (no -n, --duration or --rate)';
  const brokerFlags = BROKER_FLAGS[command];
  if (brokerFlags && !argv.some((a) => brokerFlags.some((f) => a === f || a.startsWith(`${f}=`))))
    if (!isAllowed(DEFAULT_BROKER_HOST, allow))
      return `target '${DEFAULT_BROKER_HOST}' (the default broker: the plan names none) is outside this worker's --allow-targets (${allow.text.join(', ')})`;
  // gRPC's target is the third word: always judged, with or without a port or scheme.
  if (command === 'grpc') {
    const target = argv[argv[0] === 'grpc' ? 2 : 1] ?? '';
    if (/^unix:/i.test(target))
      return `target '${target}' is a local socket: workers reach network targets only`;
    const host = hostOf(target.replace(/^grpcs?:\/\//i, 'grpc://'));
    if (host === '' || !isAllowed(host, allow))
      return `target '${host || target}' is outside this worker's --allow-targets (${allow.text.join(', ')})`;
  }
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    const eq = token.startsWith('--') ? token.indexOf('=') : -1;
    const flag = eq > 0 ? token.slice(0, eq) : token;
    const inline = eq > 0 ? token.slice(eq + 1) : undefined;
    if (FILE_FLAGS.has(flag) || /^-o./.test(token))
      return `reads or writes a local file (${flag.startsWith('-o') && flag !== '--output' ? '-o' : flag}): the coordinator must inline what the plan needs`;
    if (EXEC_FLAGS.has(flag)) return `runs a program (${flag}): workers never execute commands`;
    if (flag === '-L' || flag === '--location' || /^-[a-zA-Z]*L[a-zA-Z]*$/.test(token))
      return 'follows redirects (-L/--location): a redirect could lead outside --allow-targets';
    if (COORDINATOR_FLAGS.has(flag)) return `${flag} in a plan: a worker does not coordinate other workers`;
    const value = inline ?? token;
    if (/exec:\/\//i.test(value)) return `runs a program (exec:// handler): workers never execute commands`;
    if (value.startsWith('@'))
      return `reads a local file ('${value.slice(0, 40)}'): @file and @- payloads are inlined by the coordinator`;
    const hosts: string[] = [];
    if (SERVER_FLAGS.has(flag)) {
      const v = inline ?? argv[i + 1] ?? '';
      hosts.push(...v.split(',').map((s) => hostOf(s.trim())));
      if (inline === undefined) i += 1;
    } else if (URL_RE.test(value) || (!value.startsWith('-') && HOST_PORT_RE.test(value))) {
      hosts.push(hostOf(value));
    }
    for (const host of hosts) {
      if (host === '' || !isAllowed(host, allow))
        return `target '${host || value}' is outside this worker's --allow-targets (${allow.text.join(', ')})`;
    }
  }
  return undefined;
}

/** The host of a URL, `host:port` or bare host ('' when there is none, e.g. unix sockets). */
function hostOf(text: string): string {
  if (URL_RE.test(text)) {
    try {
      return new URL(text).hostname.replace(/^\[|\]$/g, '');
    } catch {
      return '';
    }
  }
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (m?.[1]) return m[1];
  return text.replace(/:\d+$/, '');
}
