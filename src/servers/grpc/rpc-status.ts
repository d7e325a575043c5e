import type { Metadata } from '@grpc/grpc-js';
import { loadShippedProto } from '../../transports/grpc/schema.js';
import { STATUS_DETAILS_KEY } from '../../transports/grpc/status-details.js';

/** One error detail to attach: a google.rpc type name and its fields (proto field names). */
export interface DetailSpec {
  type: 'ErrorInfo' | 'RetryInfo' | 'BadRequest' | 'ResourceInfo' | 'DebugInfo';
  fields: Record<string, unknown>;
}

/**
 * Put a `google.rpc.Status` with typed details into STATUS_DETAILS_KEY (`grpc-status-details-bin`), as real servers do
 * (Go's status.WithDetails, Java's StatusProto): the client decodes it into `details`.
 */
export async function addStatusDetails(
  metadata: Metadata,
  code: number,
  message: string,
  details: readonly DetailSpec[],
): Promise<void> {
  const root = await loadShippedProto('google/rpc/status.proto', 'google/rpc/error_details.proto');
  const statusType = root.lookupType('google.rpc.Status');
  const anys = details.map((d) => {
    const type = root.lookupType(`google.rpc.${d.type}`);
    return {
      type_url: `type.googleapis.com/google.rpc.${d.type}`,
      value: type.encode(type.fromObject(d.fields)).finish(),
    };
  });
  const bytes = statusType.encode(statusType.fromObject({ code, message, details: anys })).finish();
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(bytes));
}
