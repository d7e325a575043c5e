import type { CheckEvent, ReportEvent, RunEvent, StepEvent } from '../../src/check/reports/events.js';

/**
 * Realistic events of one `comms-cli check` run over two files, as the runner emits them:
 * - orders.check.yaml › smoke: a passing check (http + grpc.health);
 * - orders.check.yaml › an order is paid and the stock moves: a background subscription, a POST, an
 *   await, then a grpc.call whose expectation fails; the POST's compensation runs; a finally step;
 * - saga.check.yaml › reserve then charge <hostile name>: a charge that fails after 3 attempts, two
 *   compensations (one of them fails too), a finally step; names and messages full of markup, quotes,
 *   control characters and `]]>`, so every writer's escaping is exercised;
 * - saga.check.yaml › nightly export: skipped.
 */

const T0 = Date.parse('2025-03-14T09:26:53.000Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();

export const TRACE_ORDERS = '4bf92f3577b34da6a3ce929d0e0e4736';
export const TRACE_SAGA = '0af7651916cd43dd8448eb211c80319c';
export const TRACE_SMOKE = 'a3ce929d0e0e47364bf92f3577b34da6';

export const HOSTILE = 'reserve then charge <script>alert("x")</script> & \'q\' # not a directive \\ ]]>';
/** A message with a C0 control character (forbidden in XML 1.0), a line break and a lone surrogate. */
export const NASTY_MESSAGE = 'charge refused: \u0001bad\u0008 byte\nsecond line \uD800 end';

const okResult = (extra: Record<string, unknown> = {}) => ({
  ok: true,
  exit: 0,
  attempts: [{ n: 1, ok: true, ms: 10 }],
  ...extra,
});

function step(
  file: string,
  check: string,
  name: string,
  phase: StepEvent['phase'],
  startMs: number,
  ms: number,
  command: string,
  result: StepEvent['result'],
  extra: Partial<StepEvent> = {},
): StepEvent {
  return {
    type: 'step',
    file,
    check,
    step: name,
    phase,
    ms,
    result,
    command,
    startedAt: at(startMs),
    ...extra,
  };
}

const ORDERS = 'examples/orders.check.yaml';
const SAGA = 'examples/saga.check.yaml';
const SMOKE = 'smoke: the API and the inventory answer';
const PAID = 'an order is paid and the stock moves';
const EXPORT = 'nightly export';

export const smokeSteps: StepEvent[] = [
  step(
    ORDERS,
    SMOKE,
    'http get http://127.0.0.1:8080/health',
    'main',
    0,
    14,
    'http get http://127.0.0.1:8080/health --expect-status 2xx',
    okResult({ transport: 'http', status: 200, body: { status: 'up' } }),
  ),
  step(
    ORDERS,
    SMOKE,
    'grpc health',
    'main',
    15,
    9,
    'grpc health 127.0.0.1:50051',
    okResult({ transport: 'grpc', status: 'SERVING' }),
  ),
];

export const smokeCheck: CheckEvent = {
  type: 'check',
  file: ORDERS,
  name: SMOKE,
  ok: true,
  exit: 0,
  ms: 26,
  steps: 2,
  traceId: TRACE_SMOKE,
  startedAt: at(0),
  tags: ['smoke'],
};

const P0 = 30;
export const paidSteps: StepEvent[] = [
  step(
    ORDERS,
    PAID,
    'paid',
    'main',
    P0,
    612,
    "nats subscribe 'orders.paid.>' --server nats://127.0.0.1:4222",
    { ok: true, exit: 0, items: [{ subject: 'orders.paid.77', data: { orderId: 77 } }] },
  ),
  step(
    ORDERS,
    PAID,
    'create order',
    'main',
    P0 + 4,
    48,
    'http post http://127.0.0.1:8080/orders --json-data {"sku":"A1","qty":2} -H "Authorization: [REDACTED]"',
    okResult({
      transport: 'http',
      status: 201,
      headers: { authorization: '[REDACTED]', 'content-type': 'application/json' },
      body: { id: 77 },
    }),
  ),
  step(ORDERS, PAID, 'await paid', 'main', P0 + 53, 131, 'await paid --within 5s', {
    ok: true,
    exit: 0,
    subject: 'orders.paid.77',
    data: { orderId: 77 },
  }),
  step(
    ORDERS,
    PAID,
    'stock is below 12',
    'main',
    P0 + 186,
    22,
    'grpc call 127.0.0.1:50051 inventory.Inventory/GetItem --data {"sku":"A1"}',
    {
      ok: false,
      exit: 1,
      transport: 'grpc',
      status: 'OK',
      data: { sku: 'A1', quantity: 14 },
      error: { kind: 'expectation', message: '$.data.quantity: expected {"lt":12}, got 14' },
      attempts: [{ n: 1, ok: true, ms: 21, status: 'OK' }],
    },
    { path: '$.data.quantity', expected: { lt: 12 }, actual: 14 },
  ),
  step(
    ORDERS,
    PAID,
    'delete the order',
    'compensate',
    P0 + 210,
    35,
    'http delete http://127.0.0.1:8080/orders/77',
    okResult({ transport: 'http', status: 204 }),
  ),
  step(
    ORDERS,
    PAID,
    'drain the subscription',
    'finally',
    P0 + 247,
    12,
    'nats publish orders.test.done',
    okResult({ transport: 'nats' }),
  ),
];

export const paidCheck: CheckEvent = {
  type: 'check',
  file: ORDERS,
  name: PAID,
  ok: false,
  exit: 1,
  ms: 642,
  steps: 6,
  failure: {
    step: 'stock is below 12',
    message: '$.data.quantity: expected {"lt":12}, got 14',
    path: '$.data.quantity',
    expected: { lt: 12 },
    actual: 14,
  },
  traceId: TRACE_ORDERS,
  startedAt: at(P0),
};

const S0 = 700;
export const sagaSteps: StepEvent[] = [
  step(
    SAGA,
    HOSTILE,
    'reserve <stock>',
    'main',
    S0,
    40,
    'http post http://user:[REDACTED]@127.0.0.1:8080/reservations',
    okResult({ transport: 'http', status: 201, body: { id: 'r-1' } }),
  ),
  step(
    SAGA,
    HOSTILE,
    'charge & "confirm"',
    'main',
    S0 + 42,
    1480,
    'http post http://127.0.0.1:8080/charges --retries 2 --expect-status 201',
    {
      ok: false,
      exit: 1,
      transport: 'http',
      status: 500,
      body: `<html>${NASTY_MESSAGE}</html>`,
      error: { kind: 'expectation', message: NASTY_MESSAGE },
      attempts: [
        { n: 1, ok: false, ms: 410, status: 500 },
        { n: 2, ok: false, ms: 395, status: 500 },
        { n: 3, ok: false, ms: 402, status: 500 },
      ],
    },
    { path: '$.status', expected: 201, actual: 500 },
  ),
  step(
    SAGA,
    HOSTILE,
    'cancel the charge',
    'compensate',
    S0 + 1525,
    3010,
    'http post http://127.0.0.1:8080/charges/cancel',
    {
      ok: false,
      exit: 4,
      transport: 'http',
      error: { kind: 'timeout', message: 'no response within 3s', hint: 'raise --timeout' },
      attempts: [{ n: 1, ok: false, ms: 3005, error: { kind: 'timeout', message: 'no response within 3s' } }],
    },
  ),
  step(
    SAGA,
    HOSTILE,
    'release the reservation',
    'compensate',
    S0 + 4540,
    31,
    'http delete http://127.0.0.1:8080/reservations/r-1',
    okResult({ transport: 'http', status: 204 }),
  ),
  step(SAGA, HOSTILE, 'cleanup', 'finally', S0 + 4575, 18, 'exec \'psql -c "delete from test_runs"\'', {
    ok: true,
    exit: 0,
    stdout: 'DELETE 3\n',
    stderr: '',
    data: null,
  }),
];

export const sagaCheck: CheckEvent = {
  type: 'check',
  file: SAGA,
  name: HOSTILE,
  ok: false,
  exit: 1,
  ms: 4600,
  steps: 5,
  failure: {
    step: 'charge & "confirm"',
    message: NASTY_MESSAGE,
    path: '$.status',
    expected: 201,
    actual: 500,
  },
  traceId: TRACE_SAGA,
  startedAt: at(S0),
};

export const skippedCheck: CheckEvent = {
  type: 'check',
  file: SAGA,
  name: EXPORT,
  ok: true,
  exit: 0,
  ms: 0,
  steps: 0,
  traceId: '',
  skipped: 'needs the export service (skip: in the file)',
  startedAt: at(S0 + 4600),
};

export const runEvent: RunEvent = {
  type: 'run',
  checks: 4,
  passed: 1,
  failed: 2,
  skipped: 1,
  ms: 5310,
  exit: 1,
};

/** The whole run, in emission order. */
export const sampleEvents: ReportEvent[] = [
  ...smokeSteps,
  smokeCheck,
  ...paidSteps,
  paidCheck,
  ...sagaSteps,
  sagaCheck,
  skippedCheck,
  runEvent,
];
