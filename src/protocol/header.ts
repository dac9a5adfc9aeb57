// Request and response headers. Their versions are not in the message JSON; per the protocol guide:
// request header v2 for flexible API versions, else v1 (v0 only for ControlledShutdown v0);
// response header v1 for flexible versions, else v0, except ApiVersions responses, always v0, so
// a client that sent a version we do not know can still read our answer.
import { APIS } from "./messages/index.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export type RequestHeader = {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
};

export type ResponseHeader = { correlationId: number };

const API_VERSIONS_KEY = 18;
const CONTROLLED_SHUTDOWN_KEY = 7;

function flexible(apiKey: number, apiVersion: number): boolean | undefined {
  const api = APIS.get(apiKey);
  if (api === undefined || apiVersion < api.versions[0] || apiVersion > api.versions[1]) return undefined;
  return apiVersion >= api.flexibleFrom;
}

/** 0, 1 or 2. Unknown keys and versions give 1, so the server can still answer with an error. */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === CONTROLLED_SHUTDOWN_KEY && apiVersion === 0) return 0;
  return flexible(apiKey, apiVersion) ? 2 : 1;
}

/** 0 or 1. ApiVersions is always 0. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === API_VERSIONS_KEY) return 0;
  return flexible(apiKey, apiVersion) ? 1 : 0;
}

export function readRequestHeader(reader: Reader): RequestHeader {
  const apiKey = reader.int16();
  const apiVersion = reader.int16();
  const correlationId = reader.int32();
  const hv = requestHeaderVersion(apiKey, apiVersion);
  // ClientId stays an int16-length nullable string even in header v2.
  const clientId = hv >= 1 ? reader.nullableString() : null;
  if (hv >= 2) reader.skipTaggedFields();
  return { apiKey, apiVersion, correlationId, clientId };
}

export function writeResponseHeader(writer: Writer, apiKey: number, apiVersion: number, correlationId: number): void {
  writer.int32(correlationId);
  if (responseHeaderVersion(apiKey, apiVersion) >= 1) writer.emptyTaggedFields();
}

/** Client direction (tests, load generator). */
export function writeRequestHeader(writer: Writer, header: RequestHeader): void {
  writer.int16(header.apiKey);
  writer.int16(header.apiVersion);
  writer.int32(header.correlationId);
  const hv = requestHeaderVersion(header.apiKey, header.apiVersion);
  if (hv >= 1) writer.nullableString(header.clientId);
  if (hv >= 2) writer.emptyTaggedFields();
}

/** Client direction: reads the correlation id and, for header v1, skips its tagged fields. */
export function readResponseHeader(reader: Reader, apiKey: number, apiVersion: number): ResponseHeader {
  const correlationId = reader.int32();
  if (responseHeaderVersion(apiKey, apiVersion) >= 1) reader.skipTaggedFields();
  return { correlationId };
}
