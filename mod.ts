// Chronik Stream public API. No runtime globals here: a Runtime (adapters/) is passed in.
export { startBroker } from "./src/broker/broker.ts";
export type { Broker } from "./src/broker/broker.ts";
export type { BrokerConfig } from "./src/config.ts";
export { DEFAULT_CONFIG, resolveConfig } from "./src/config.ts";
export type {
  Conn,
  ConnHandler,
  FetchHandler,
  FileHandle,
  FileSystem,
  HttpServer,
  Listener,
  ListenOptions,
  Runtime,
  TlsOptions,
} from "./src/runtime.ts";
