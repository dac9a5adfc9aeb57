// The schema registry's REST API at Confluent's paths (/subjects, /schemas, /config, /mode,
// /compatibility), with its content type and error shape ({"error_code", "message"}), over the
// broker's registry (src/broker/registry/registry.ts). Confluent's clients and serializers use these
// URLs as they are: give them http://host:<http-port>.
import type { Context, Hono } from "hono";
import type { Services } from "../broker/services.ts";
import { RegistryError, SCHEMA_TYPES, type SchemaInput } from "../broker/registry/registry.ts";
import { httpClusterAllowed, type HttpEnv } from "./security.ts";
import { AclOperation } from "../broker/auth/acl.ts";

const TYPE = "application/vnd.schemaregistry.v1+json";

function reply(c: Context, body: unknown, status = 200) {
  return c.body(JSON.stringify(body), status as 200, { "content-type": TYPE });
}

function fail(c: Context, e: unknown) {
  if (e instanceof RegistryError) return reply(c, { error_code: e.code, message: e.message }, e.status);
  return reply(c, { error_code: 50001, message: e instanceof Error ? e.message : String(e) }, 500);
}

async function body(c: Context): Promise<Record<string, unknown>> {
  const type = c.req.header("content-type") ?? "";
  if (type && !/json/i.test(type)) {
    throw new RegistryError(415, 415, `Unsupported content type ${type}: send ${TYPE} or application/json`);
  }
  try {
    const b = await c.req.json();
    if (b === null || typeof b !== "object") throw new Error("not an object");
    return b as Record<string, unknown>;
  } catch {
    throw new RegistryError(400, 400, "Unrecognized request body: expected a JSON object");
  }
}

function schemaInput(b: Record<string, unknown>): SchemaInput {
  if (typeof b.schema !== "string") throw new RegistryError(422, 42201, "Empty schema");
  return {
    schema: b.schema,
    schemaType: typeof b.schemaType === "string" ? b.schemaType : undefined,
    references: Array.isArray(b.references) ? b.references as SchemaInput["references"] : undefined,
    id: typeof b.id === "number" ? b.id : undefined,
    version: typeof b.version === "number" ? b.version : undefined,
  };
}

const flag = (c: Context, name: string) => c.req.query(name) === "true";
const param = (c: Context, name: string): string => c.req.param(name) ?? "";

function schemaView(s: { schema: string; type: string; references: unknown[] }) {
  const out: Record<string, unknown> = { schema: s.schema };
  if (s.type !== "AVRO") out.schemaType = s.type;
  if (s.references.length) out.references = s.references;
  return out;
}

export function registryRoutes(app: Hono<HttpEnv>, svc: Services): void {
  const r = svc.registry;
  const route = (fn: (c: Context) => Promise<Response> | Response) => async (c: Context) => {
    try {
      // What any broker of the cluster wrote to `_schemas` before this request is seen by it.
      await r.sync();
      return await fn(c);
    } catch (e) {
      return fail(c, e);
    }
  };
  // ACLs: changes (register, delete, config, mode) need ALTER on the cluster; reads and checks
  // need only an authenticated principal.
  const write = (fn: (c: Context) => Promise<Response> | Response) =>
    route((c) => {
      if (!httpClusterAllowed(svc, c, AclOperation.ALTER)) {
        throw new RegistryError(403, 40301, "User is denied operation Write on this server.");
      }
      return fn(c);
    });
  const id = (c: Context) => {
    const n = Number(param(c, "id"));
    if (!Number.isInteger(n)) throw new RegistryError(404, 40403, "Schema not found");
    return n;
  };

  app.get("/schemas/types", route((c) => reply(c, [...SCHEMA_TYPES].sort())));
  app.get("/schemas/ids/:id", route((c) => reply(c, schemaView(r.schemaById(id(c))))));
  app.get("/schemas/ids/:id/schema", route((c) => c.body(r.schemaById(id(c)).schema, 200, { "content-type": TYPE })));
  app.get("/schemas/ids/:id/versions", route((c) => reply(c, r.usesOf(id(c), flag(c, "deleted")))));
  app.get(
    "/schemas/ids/:id/subjects",
    route((c) => reply(c, [...new Set(r.usesOf(id(c), flag(c, "deleted")).map((u) => u.subject))])),
  );

  app.get("/subjects", route((c) => reply(c, r.subjectNames(flag(c, "deleted"), c.req.query("subjectPrefix") ?? ""))));
  app.get(
    "/subjects/:subject/versions",
    route((c) => reply(c, r.versions(param(c, "subject"), flag(c, "deleted")))),
  );
  app.get(
    "/subjects/:subject/versions/:version",
    route((c) => {
      const subject = param(c, "subject");
      const v = r.version(subject, param(c, "version"), flag(c, "deleted"));
      return reply(c, { subject, version: v.version, id: v.id, ...schemaView(v) });
    }),
  );
  app.get(
    "/subjects/:subject/versions/:version/schema",
    route((c) => {
      const v = r.version(param(c, "subject"), param(c, "version"), flag(c, "deleted"));
      return c.body(v.schema, 200, { "content-type": TYPE });
    }),
  );
  app.post(
    "/subjects/:subject/versions",
    write(async (c) => {
      const schemaId = await r.register(param(c, "subject"), schemaInput(await body(c)));
      return reply(c, { id: schemaId });
    }),
  );
  app.post(
    "/subjects/:subject",
    route(async (c) => {
      const subject = param(c, "subject");
      const v = r.lookup(subject, schemaInput(await body(c)), flag(c, "deleted"));
      return reply(c, { subject, id: v.id, version: v.version, ...schemaView(v) });
    }),
  );
  app.delete(
    "/subjects/:subject",
    write(async (c) => reply(c, await r.deleteSubject(param(c, "subject"), flag(c, "permanent")))),
  );
  app.delete(
    "/subjects/:subject/versions/:version",
    write(async (c) => reply(c, await r.deleteVersion(param(c, "subject"), param(c, "version"), flag(c, "permanent")))),
  );

  const compat = (against?: string) =>
    route(async (c) => {
      const subject = param(c, "subject");
      const input = schemaInput(await body(c));
      if (against !== undefined) r.version(subject, param(c, "version")); // 40401/40402 first
      const errors = r.compatibilityErrors(subject, input, against === undefined ? undefined : param(c, "version"));
      return reply(
        c,
        flag(c, "verbose") ? { is_compatible: !errors.length, messages: errors } : { is_compatible: !errors.length },
      );
    });
  app.post("/compatibility/subjects/:subject/versions/:version", compat("version"));
  app.post("/compatibility/subjects/:subject/versions", compat());

  app.get("/config", route((c) => reply(c, { compatibilityLevel: r.level() })));
  app.put(
    "/config",
    write(async (c) => {
      const b = await body(c);
      await r.setLevel(null, String(b.compatibility ?? b.compatibilityLevel));
      return reply(c, { compatibility: r.level() });
    }),
  );
  app.get(
    "/config/:subject",
    route((c) => {
      const subject = param(c, "subject");
      const own = r.subjectLevel(subject);
      if (own === undefined && !flag(c, "defaultToGlobal")) {
        throw new RegistryError(
          404,
          40408,
          `Subject '${subject}' does not have subject-level compatibility configured`,
        );
      }
      return reply(c, { compatibilityLevel: own ?? r.level() });
    }),
  );
  app.put(
    "/config/:subject",
    write(async (c) => {
      const b = await body(c);
      await r.setLevel(param(c, "subject"), String(b.compatibility ?? b.compatibilityLevel));
      return reply(c, { compatibility: r.level(param(c, "subject")) });
    }),
  );
  app.delete(
    "/config/:subject",
    write(async (c) => reply(c, { compatibilityLevel: await r.deleteLevel(param(c, "subject")) })),
  );

  app.get("/mode", route((c) => reply(c, { mode: r.mode() })));
  app.put(
    "/mode",
    write(async (c) => {
      await r.setMode(null, String((await body(c)).mode), flag(c, "force"));
      return reply(c, { mode: r.mode() });
    }),
  );
  app.get(
    "/mode/:subject",
    route((c) => {
      const subject = param(c, "subject");
      const own = r.subjectMode(subject);
      if (own === undefined && !flag(c, "defaultToGlobal")) {
        throw new RegistryError(404, 40409, `Subject '${subject}' does not have subject-level mode configured`);
      }
      return reply(c, { mode: own ?? r.mode() });
    }),
  );
  app.put(
    "/mode/:subject",
    write(async (c) => {
      await r.setMode(param(c, "subject"), String((await body(c)).mode), flag(c, "force"));
      return reply(c, { mode: r.mode(param(c, "subject")) });
    }),
  );
  app.delete("/mode/:subject", write(async (c) => reply(c, { mode: await r.deleteMode(param(c, "subject")) })));
}
