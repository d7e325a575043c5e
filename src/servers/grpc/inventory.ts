import * as grpc from '@grpc/grpc-js';
import { parseDuration } from '../../core/duration.js';
import { addStatusDetails } from './rpc-status.js';

interface ItemData {
  sku: string;
  name: string;
  category: string;
  quantity: number;
  price_cents: string;
  tags: string[];
  updated_at: { seconds: string; nanos: number };
}

const CATEGORIES = ['CATEGORY_UNSPECIFIED', 'TOOLS', 'GARDEN', 'KITCHEN'];

function seed(): Map<string, ItemData> {
  const at = { seconds: '1735689600', nanos: 0 }; // 2025-01-01T00:00:00Z: stable output
  const items: ItemData[] = [
    {
      sku: 'A1',
      name: 'Claw hammer',
      category: 'TOOLS',
      quantity: 12,
      price_cents: '1999',
      tags: ['steel'],
      updated_at: at,
    },
    {
      sku: 'A2',
      name: 'Screwdriver set',
      category: 'TOOLS',
      quantity: 5,
      price_cents: '2450',
      tags: [],
      updated_at: at,
    },
    {
      sku: 'B1',
      name: 'Watering can',
      category: 'GARDEN',
      quantity: 0,
      price_cents: '1200',
      tags: ['green'],
      updated_at: at,
    },
    {
      sku: 'C1',
      name: 'Chef knife',
      category: 'KITCHEN',
      quantity: 3,
      price_cents: '8900',
      tags: ['steel', 'sharp'],
      updated_at: at,
    },
  ];
  return new Map(items.map((i) => [i.sku, i]));
}

function now(): { seconds: string; nanos: number } {
  const ms = Date.now();
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

type Cb = grpc.sendUnaryData<unknown>;

/**
 * The Inventory service: GetItem (unary), ListItems (server streaming), AddItems (client streaming),
 * Reserve (bidi). Each server instance has its own stock. `x-stream-interval: 50ms` spaces streamed
 * messages so a person (or a test) can watch them arrive one by one.
 */
export function inventoryImplementation(): Record<string, (call: never, callback?: never) => void> {
  const stock = seed();
  const impl = {
    async GetItem(call: grpc.ServerUnaryCall<{ sku?: string }, unknown>, callback: Cb) {
      const sku = call.request.sku ?? '';
      if (!sku) {
        const metadata = new grpc.Metadata();
        await addStatusDetails(metadata, grpc.status.INVALID_ARGUMENT, 'sku is required', [
          {
            type: 'BadRequest',
            fields: { field_violations: [{ field: 'sku', description: 'must not be empty' }] },
          },
        ]);
        return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'sku is required', metadata });
      }
      const item = stock.get(sku);
      if (!item) {
        const metadata = new grpc.Metadata();
        await addStatusDetails(metadata, grpc.status.NOT_FOUND, `item '${sku}' not found`, [
          { type: 'ErrorInfo', fields: { reason: 'ITEM_NOT_FOUND', domain: 'inventory', metadata: { sku } } },
          {
            type: 'ResourceInfo',
            fields: { resource_type: 'inventory.Item', resource_name: sku, description: 'no such SKU' },
          },
        ]);
        return callback({ code: grpc.status.NOT_FOUND, details: `item '${sku}' not found`, metadata });
      }
      const trailer = new grpc.Metadata();
      trailer.set('x-served-by', 'comms-cli serve grpc');
      call.sendMetadata(echoHeaders(call.metadata));
      callback(null, item, trailer);
    },
    async ListItems(call: grpc.ServerWritableStream<{ category?: string; limit?: number }, unknown>) {
      const category =
        call.request.category && call.request.category !== 'CATEGORY_UNSPECIFIED'
          ? call.request.category
          : undefined;
      const limit = call.request.limit ?? 0;
      const intervalText = call.metadata.get('x-stream-interval')[0];
      let interval = 0;
      if (intervalText !== undefined) {
        try {
          interval = parseDuration(String(intervalText), 'x-stream-interval');
        } catch (err) {
          call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
          return;
        }
      }
      call.sendMetadata(echoHeaders(call.metadata));
      let n = 0;
      for (const item of stock.values()) {
        if (category && item.category !== category) continue;
        if (limit > 0 && n >= limit) break;
        if (call.cancelled) return;
        if (interval > 0 && n > 0) await new Promise((r) => setTimeout(r, interval));
        if (call.cancelled) return;
        call.write(item);
        n += 1;
      }
      call.end();
    },
    AddItems(call: grpc.ServerReadableStream<Partial<ItemData>, unknown>, callback: Cb) {
      const skus: string[] = [];
      let total = 0;
      call.on('data', (item: Partial<ItemData>) => {
        if (!item.sku) return;
        const prev = stock.get(item.sku);
        const quantity = (prev?.quantity ?? 0) + (item.quantity ?? 0);
        stock.set(item.sku, {
          sku: item.sku,
          name: item.name ?? prev?.name ?? item.sku,
          category: CATEGORIES.includes(String(item.category))
            ? String(item.category)
            : (prev?.category ?? 'CATEGORY_UNSPECIFIED'),
          quantity,
          price_cents: String(item.price_cents ?? prev?.price_cents ?? '0'),
          tags: item.tags ?? prev?.tags ?? [],
          updated_at: now(),
        });
        skus.push(item.sku);
        total += item.quantity ?? 0;
      });
      call.on('end', () => callback(null, { added: skus.length, total_quantity: total, skus }));
      call.on('error', () => {});
    },
    Reserve(call: grpc.ServerDuplexStream<{ sku?: string; quantity?: number }, unknown>) {
      call.on('data', (req: { sku?: string; quantity?: number }) => {
        const sku = req.sku ?? '';
        const want = req.quantity ?? 1;
        const item = stock.get(sku);
        if (!item) call.write({ sku, ok: false, remaining: 0, reason: 'unknown sku' });
        else if (item.quantity < want)
          call.write({ sku, ok: false, remaining: item.quantity, reason: 'not enough stock' });
        else {
          item.quantity -= want;
          call.write({ sku, ok: true, remaining: item.quantity });
        }
      });
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
  };
  return impl as unknown as Record<string, (call: never, callback?: never) => void>;
}

/** Echo `x-echo-*` request metadata back as response headers (so tests can see metadata in and out). */
function echoHeaders(md: grpc.Metadata): grpc.Metadata {
  const out = new grpc.Metadata();
  out.set('x-server', 'comms-cli');
  for (const [k, v] of Object.entries(md.getMap())) {
    if (k.startsWith('x-echo-')) out.set(k, v as grpc.MetadataValue);
  }
  return out;
}
