// The PostgreSQL wire client (src/storage/postgres/client.ts) against a real server: trust and
// SCRAM-SHA-256 logins, binary parameters and results, pipelining, errors, reconnecting, a hung server.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { bunRuntime } from "../../adapters/bun.ts";
import {
  parsePostgresUrl,
  PgConnection,
  PgConnectionError,
  PgError,
  PgPool,
  redact,
} from "../../src/storage/postgres/client.ts";
import { OID } from "../../src/storage/postgres/wire.ts";
import type { TestPostgres } from "../helpers/postgres.ts";
import { startPostgres } from "../helpers/postgres.ts";

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(() => pg?.destroy());

describe("postgres:// URLs", () => {
  test("parse with defaults; the password is redacted in messages", () => {
    expect(parsePostgresUrl("postgres://u:p%40ss@db.example:6543/chronik?pool=2")).toEqual({
      host: "db.example",
      port: 6543,
      user: "u",
      password: "p@ss",
      database: "chronik",
      poolSize: 2,
    });
    expect(parsePostgresUrl("postgresql://127.0.0.1")).toMatchObject({
      port: 5432,
      user: "postgres",
      database: "postgres",
    });
    expect(() => parsePostgresUrl("postgres://h/db?sslmode=require")).toThrow(/sslmode=require/);
    expect(() => parsePostgresUrl("postgres://h/db?foo=1")).toThrow(/unknown parameter foo/);
    expect(redact("postgres://u:secret@h:1/db")).toBe("postgres://u:***@h:1/db");
  });
});

describe("PgConnection", () => {
  test("trust login, typed binary round trip, pipelined statements answer in order", async () => {
    const c = await PgConnection.open(bunRuntime, parsePostgresUrl(pg.url()));
    const r = await c.query(
      "SELECT $1::int8 AS a, $2::text, $3::bytea, $4::int4, $5::int8[], $6::bytea[], NULL::int8, true",
      [2n ** 40n + 1n, "héllo", new Uint8Array([0, 1, 255]), -7, [1, 2, 3], [new Uint8Array([9]), new Uint8Array()]],
      [OID.int8, OID.text, OID.bytea, OID.int4, OID.int8Array, OID.byteaArray],
    );
    expect(r.rows[0].slice(0, 4)).toEqual([2 ** 40 + 1, "héllo", new Uint8Array([0, 1, 255]), -7]);
    expect(r.rows[0][6]).toBeNull();
    expect(r.rows[0][7]).toBe(true);
    const ps = [];
    for (let i = 0; i < 200; i++) ps.push(c.query("SELECT $1::int4 * 2", [i], [OID.int4]));
    expect((await Promise.all(ps)).map((x) => x.rows[0][0])).toEqual([...Array(200).keys()].map((i) => i * 2));
    c.close();
  });

  test("large bytea parameters (sent by reference, not copied) and many statements round-trip", async () => {
    const c = await PgConnection.open(bunRuntime, parsePostgresUrl(pg.url()));
    const big = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
    const a = big(70_000, 1), b = big(4096, 2), small = big(100, 3);
    const r = await c.query("SELECT $1::bytea, $2::bytea[], length($1), $3::int4", [a, [b, small, a], 7], [
      OID.bytea,
      OID.byteaArray,
      OID.int4,
    ]);
    expect(r.rows[0][0]).toEqual(a);
    expect(r.rows[0][2]).toBe(70_000);
    expect(r.rows[0][3]).toBe(7);
    const arr = await c.query("SELECT unnest($1::bytea[])", [[b, small, a]], [OID.byteaArray]);
    expect(arr.rows.map((x) => x[0])).toEqual([b, small, a]);
    // More than one writer block (64 KiB) of small statements, pipelined.
    const ps = [];
    for (let i = 0; i < 3000; i++) ps.push(c.query("SELECT $1::text", [`value-${i}`], [OID.text]));
    expect((await Promise.all(ps)).every((x, i) => x.rows[0][0] === `value-${i}`)).toBe(true);
    c.close();
  });

  test("SCRAM-SHA-256 login; a wrong password is refused", async () => {
    const good = await PgConnection.open(
      bunRuntime,
      parsePostgresUrl(`postgres://chronik_scram:scram-secret@127.0.0.1:${pg.port}/postgres`),
    );
    expect((await good.query("SELECT current_user")).rows[0][0]).toBe("chronik_scram");
    good.close();
    await expect(
      PgConnection.open(bunRuntime, parsePostgresUrl(`postgres://chronik_scram:wrong@127.0.0.1:${pg.port}/postgres`)),
    ).rejects.toThrow(/password authentication failed/);
  });

  test("a failed statement rejects with its SQLSTATE and the connection goes on", async () => {
    const c = await PgConnection.open(bunRuntime, parsePostgresUrl(pg.url()));
    const bad = c.query("SELECT * FROM no_such_table");
    const after = c.query("SELECT 1::int4");
    const e = await bad.catch((x) => x);
    expect(e).toBeInstanceOf(PgError);
    expect(e.code).toBe("42P01");
    expect((await after).rows[0][0]).toBe(1);
    c.close();
  });
});

describe("PgPool", () => {
  test("statements fail while PostgreSQL is down and work again once it is back", async () => {
    const pool = new PgPool(bunRuntime, parsePostgresUrl(pg.url()));
    expect((await pool.query("SELECT 1::int4")).rows[0][0]).toBe(1);
    pg.stop();
    await expect(pool.query("SELECT 1::int4")).rejects.toThrow();
    pg.start();
    let ok = false;
    for (let i = 0; i < 100 && !ok; i++) {
      ok = await pool.query("SELECT 1::int4").then(() => true, () => false);
      if (!ok) await Bun.sleep(100);
    }
    expect(ok).toBe(true);
    pool.close();
  });

  test("a hung server (SIGSTOP): statements and new connections fail after the request timeout; back after SIGCONT", async () => {
    const pool = new PgPool(bunRuntime, { ...parsePostgresUrl(pg.url()), poolSize: 1, timeoutMs: 300 });
    expect((await pool.query("SELECT 1::int4")).rows[0][0]).toBe(1);
    expect((await pool.query("SHOW statement_timeout")).rows[0][0]).toBe("300ms");
    pg.pause();
    try {
      // In flight on the open connection: no reply, so the connection is failed (outcome unknown).
      const e = await pool.query("SELECT 2::int4").catch((x) => x);
      expect(e).toBeInstanceOf(PgConnectionError);
      expect(e.message).toMatch(/no reply within 300 ms/);
      // A new connection: TCP is accepted by the kernel, the startup is never answered.
      await Bun.sleep(300); // the pool's reconnect backoff
      const e2 = await pool.query("SELECT 3::int4").catch((x) => x);
      expect(e2).toBeInstanceOf(PgConnectionError);
      expect(e2.message).toMatch(/no answer within 300 ms/);
    } finally {
      pg.resume();
    }
    let ok = false;
    for (let i = 0; i < 100 && !ok; i++) {
      ok = await pool.query("SELECT 4::int4").then((r) => r.rows[0][0] === 4, () => false);
      if (!ok) await Bun.sleep(100);
    }
    expect(ok).toBe(true);
    pool.close();
  });
});
