// The HTTP side (hono over Web Request/Response): health and readiness for orchestrators,
// Prometheus metrics, a read-only admin view of the cluster, topics and consumer groups, and the
// REST produce/consume proxy (rest.ts), and the schema registry (registry.ts), all on the broker's
// services (no second copy of any state). security.ts authenticates requests when the Kafka
// listeners require SASL, refuses cross-site writes and foreign Host headers; routes authorize the
// principal with the broker's authorizer. It listens on chronik.http.host (127.0.0.1 by default).
import { type Context, Hono } from "hono";
import { VERSION_STRING } from "../version.ts";
import type { Services } from "../broker/services.ts";
import { prometheus } from "./prometheus.ts";
import { groupLags } from "./lag.ts";
import { partitionView, restError, restRoutes, topicDenied } from "./rest.ts";
import { registryRoutes } from "./registry.ts";
import { consoleRoutes } from "./console/console.ts";
import { confluentV2Routes } from "./confluent_v2.ts";
import { confluentV3Routes } from "./confluent_v3.ts";
import { consumerRoutes } from "./consumers.ts";
import { httpAllowed, httpClusterAllowed, type HttpEnv, httpSecurity } from "./security.ts";
import { AclOperation, ResourceType } from "../broker/auth/acl.ts";

export type HttpState = { ready: () => boolean };

export function httpApp(svc: Services, state: HttpState): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.use("*", httpSecurity(svc));

  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/ready", (c) => (state.ready() ? c.json({ status: "ready" }) : c.json({ status: "not ready" }, 503)));
  // ACLs: /metrics and /v1/cluster need DESCRIBE on the cluster; topic and group views DESCRIBE on each.
  const clusterDenied = (c: Context) =>
    httpClusterAllowed(svc, c, AclOperation.DESCRIBE)
      ? null
      : restError(c, 403, 3, "Cluster authorization failed.", "CLUSTER_AUTHORIZATION_FAILED");
  const canDescribe = (c: Context, type: number, name: string) =>
    httpAllowed(svc, c, AclOperation.DESCRIBE, type, name);
  app.get(
    "/metrics",
    (c) =>
      clusterDenied(c) ??
        c.text(prometheus(svc), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }),
  );

  app.get("/v1/cluster", (c) =>
    clusterDenied(c) ?? c.json({
      clusterId: svc.clusterId,
      brokerId: svc.config.nodeId,
      advertised: svc.advertised,
      securityProtocol: svc.auth.securityProtocol,
      runtime: svc.runtime.name,
      version: VERSION_STRING,
      uptimeMs: svc.now() - svc.metrics.startedAt,
    }));

  app.get(
    "/v1/topics",
    (c) =>
      c.json(
        [...svc.topics.list()].filter((t) => canDescribe(c, ResourceType.TOPIC, t.name)).map((t) => ({
          name: t.name,
          id: t.id,
          partitions: t.partitions.length,
          internal: t.internal,
        })),
      ),
  );

  // Authorization before existence, as Kafka: a refusal says nothing of whether the topic or group exists.
  app.get("/v1/topics/:topic", (c) => {
    const name = c.req.param("topic");
    if (!canDescribe(c, ResourceType.TOPIC, name)) return topicDenied(c, name);
    const t = svc.topics.get(name);
    if (!t) return restError(c, 404, 1, "Topic not found.", "UNKNOWN_TOPIC_OR_PARTITION");
    return c.json({
      name: t.name,
      id: t.id,
      internal: t.internal,
      partitions: t.partitions.map((p, i) => partitionView(p, i)),
    });
  });

  app.get(
    "/v1/groups",
    (c) => c.json(svc.groups.listGroups([], []).filter((g) => canDescribe(c, ResourceType.GROUP, g.groupId))),
  );

  app.get("/v1/groups/:group", (c) => {
    const id = c.req.param("group");
    if (!canDescribe(c, ResourceType.GROUP, id)) {
      return restError(c, 403, 2, `Not authorized to access group: ${id}`, "GROUP_AUTHORIZATION_FAILED");
    }
    const g = svc.groups.group(id);
    if (!g || g.state === "Dead") return restError(c, 404, 3, "Group not found.", "GROUP_ID_NOT_FOUND");
    const offsets = groupLags(svc, g.offsets, (t) => canDescribe(c, ResourceType.TOPIC, t)).map((x) => ({
      topic: x.topic,
      partition: x.partition,
      committed: x.committed,
      logEndOffset: x.end,
      lag: x.lag,
      metadata: x.metadata,
    }));
    return c.json({
      groupId: id,
      type: g.kind,
      state: g.state,
      members: [...g.members.values()].map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        clientHost: m.clientHost,
      })),
      offsets,
    });
  });

  restRoutes(app, svc);
  confluentV2Routes(app, svc);
  confluentV3Routes(app, svc);
  consumerRoutes(app, svc);
  registryRoutes(app, svc);
  consoleRoutes(app, svc);

  app.notFound((c) => restError(c, 404, 0, "HTTP 404 Not Found"));
  app.onError((e, c) => {
    svc.log("error", `HTTP ${c.req.method} ${c.req.path} failed: ${e instanceof Error ? e.message : String(e)}`);
    return restError(c, 500, 0, "Internal server error");
  });
  return app;
}
