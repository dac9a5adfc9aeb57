// Shapes of the generated message tables (src/protocol/messages/) that codec.ts interprets.

export type PrimitiveType =
  | "bool"
  | "int8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "float64"
  | "string"
  | "uuid"
  | "bytes"
  | "records";

/**
 * One field of a message or struct.
 * Value types: int64 -> bigint, other ints and float64 -> number, bool -> boolean,
 * string -> string, uuid -> string (Kafka's base64url form, 22 chars, no padding),
 * bytes -> Uint8Array, records -> Uint8Array on decode and Uint8Array | Uint8Array[] on encode,
 * struct -> object, array -> Array; nullable -> | null.
 */
export type Field = {
  /** camelCase of the schema name. */
  name: string;
  /** Primitive, or "struct" with `fields`. */
  type: PrimitiveType | "struct";
  /** `[]X` in the schema. */
  array?: true;
  /** First version with the field. */
  since: number;
  /** Last version with the field, when bounded. */
  until?: number;
  /** Nullable from this version on (until `nullableUntil` if bounded). */
  nullableSince?: number;
  nullableUntil?: number;
  /** Tagged field: its tag, and the versions in which it is tagged (taggedSince..taggedUntil). */
  tag?: number;
  taggedSince?: number;
  taggedUntil?: number;
  /** Value used when the field is absent at a version or undefined on encode. */
  default?: unknown;
  fields?: Field[];
};

export type Api<Req = unknown, Res = unknown> = {
  key: number;
  /** "Produce", "Fetch", … */
  name: string;
  /** Valid versions in the schema, [min, max]. */
  versions: readonly [number, number];
  /** First flexible version; Infinity when none. */
  flexibleFrom: number;
  /** True when the schema marks the latest version unstable (not advertised). */
  latestVersionUnstable?: boolean;
  request: Field[];
  response: Field[];
  /** Phantom members carrying the value types; always undefined at run time. */
  readonly __req?: Req;
  readonly __res?: Res;
};

/**
 * A versioned struct with no header (`"type": "data"` schemas), e.g. the consumer protocol's
 * subscription and assignment carried inside JoinGroup/SyncGroup.
 */
export type DataSchema<T = unknown> = {
  name: string;
  versions: readonly [number, number];
  /** First flexible version; Infinity when none. */
  flexibleFrom: number;
  fields: Field[];
  /** Phantom member carrying the value type; always undefined at run time. */
  readonly __value?: T;
};

export type DataOf<S> = S extends DataSchema<infer T> ? T : never;

export type RequestOf<A> = A extends Api<infer Q, unknown> ? Q : never;
export type ResponseOf<A> = A extends Api<unknown, infer S> ? S : never;
