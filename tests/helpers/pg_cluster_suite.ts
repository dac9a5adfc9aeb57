// Setup shared by the cluster end-to-end tests on one private PostgreSQL: the server started before the file's
// tests and, after them, its brokers stopped and connections closed (pgClusterSuite); and the SASL_PLAINTEXT
// listeners with the StandardAuthorizer (PLAIN users admin and alice, the brokers logging in to each other as the
// super user User:broker with an unsecured OAUTHBEARER token) with connections that log in to them (kcat: saslKcat).
import { afterAll, beforeAll } from "bun:test";
import { bunRuntime } from "../../adapters/bun.ts";
import { KafkaConnection } from "../../src/client/connection.ts";
import type { BrokerProcess } from "../e2e/harness.ts";
import type { TestPostgres } from "./postgres.ts";
import { startPostgres } from "./postgres.ts";

export interface PgClusterSuite {
  /** The file's brokers (startCluster pushes onto it), stopped after its tests. */
  readonly brokers: BrokerProcess[];
  /** Connections closed after the file's tests. */
  readonly conns: KafkaConnection[];
  /** A new database on the file's PostgreSQL: its URL. */
  database(name: string): string;
  /** The file's PostgreSQL (once beforeAll ran). */
  readonly pg: TestPostgres;
}

/** Registers beforeAll (a private PostgreSQL) and afterAll (connections closed, brokers stopped, PostgreSQL gone). */
export function pgClusterSuite(): PgClusterSuite {
  let pg: TestPostgres | undefined;
  const brokers: BrokerProcess[] = [];
  const conns: KafkaConnection[] = [];
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    for (const c of conns) c.close();
    for (const b of brokers) await b.stop().catch(() => {});
    pg?.destroy();
  });
  return {
    brokers,
    conns,
    database: (name) => pg!.createDatabase(name),
    get pg() {
      return pg!;
    },
  };
}

/** PLAIN users admin (a super user) and alice, each with the password `<user>-secret`. */
export const PLAIN_JAAS =
  'org.apache.kafka.common.security.plain.PlainLoginModule required user_admin="admin-secret" ' +
  'user_alice="alice-secret";';
/** The brokers log in to each other with OAUTHBEARER: an unsecured token for User:broker (no PLAIN password for it). */
export const OAUTH_JAAS = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required " +
  'unsecuredLoginStringClaim_sub="broker";';

/**
 * Broker flags: SASL_PLAINTEXT listeners with `mechanisms` enabled (PLAIN_JAAS, OAUTH_JAAS), OAUTHBEARER between
 * brokers, the StandardAuthorizer with super users User:broker and User:admin.
 */
export function saslAclFlags(mechanisms: string): string[] {
  return [
    "-o",
    "listeners=SASL_PLAINTEXT://127.0.0.1:0",
    "-o",
    `sasl.enabled.mechanisms=${mechanisms}`,
    "-o",
    `listener.name.sasl_plaintext.plain.sasl.jaas.config=${PLAIN_JAAS}`,
    "-o",
    `listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config=${OAUTH_JAAS}`,
    "-o",
    "sasl.mechanism.inter.broker.protocol=OAUTHBEARER",
    "-o",
    "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "-o",
    "super.users=User:broker;User:admin",
  ];
}

/** A connection to `b` logged in with PLAIN as `user` (password `<user>-secret`), pushed onto `track`. */
export async function openAs(
  b: BrokerProcess,
  user: string,
  clientId: string,
  track: KafkaConnection[],
): Promise<KafkaConnection> {
  const c = await KafkaConnection.open(bunRuntime, "127.0.0.1", b.port, {
    clientId,
    sasl: { mechanism: "PLAIN", username: user, password: `${user}-secret` },
  });
  track.push(c);
  return c;
}
