// DescribeCluster (key 60), v0-2. The cluster id (persisted in the metadata store) and the live
// brokers at their addresses for the listener asked on: this one alone, or every live member of a
// cluster on PostgreSQL (cluster.ts), the lowest node id shown as the controller.
// Behaviour: v1's endpointType 1 (brokers) is answered; 2 (controllers) is
// MISMATCHED_ENDPOINT_TYPE, as from a Kafka broker listener; anything else is
// UNSUPPORTED_ENDPOINT_TYPE. v2's includeFencedBrokers changes nothing: a live broker is never fenced
// here, and each broker says so (isFenced false). Authorized operations (the principal's on the cluster) when asked for.
import { ErrorCode } from "../../protocol/errors.ts";
import { DescribeCluster } from "../../protocol/messages/60_describe_cluster.ts";
import { CLUSTER_NAME } from "../auth/acl.ts";
import { authorizedOperations, clusterAllowed, Op, Res } from "../auth/authorize.ts";
import { defineHandler, LARGE_RESPONSE } from "../handler.ts";
import { OPERATIONS_OMITTED } from "../topic_admin.ts";

const BROKERS = 1;
const CONTROLLERS = 2;

export default defineHandler(DescribeCluster, [0, 2], LARGE_RESPONSE, (req, ctx) => {
  const svc = ctx.services;
  const base = {
    throttleTimeMs: 0,
    endpointType: BROKERS,
    clusterId: svc.clusterId,
    controllerId: svc.cluster.controllerId(),
    clusterAuthorizedOperations: req.includeClusterAuthorizedOperations
      ? authorizedOperations(ctx, Res.CLUSTER, CLUSTER_NAME)
      : OPERATIONS_OMITTED,
  };
  // ACLs: DESCRIBE on the cluster.
  if (!clusterAllowed(ctx, Op.DESCRIBE)) {
    return {
      ...base,
      errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
      errorMessage: "Cluster authorization failed.",
      controllerId: -1,
      brokers: [],
    };
  }
  if (ctx.apiVersion >= 1 && req.endpointType !== BROKERS) {
    const mismatch = req.endpointType === CONTROLLERS;
    return {
      ...base,
      errorCode: mismatch ? ErrorCode.MISMATCHED_ENDPOINT_TYPE : ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
      errorMessage: mismatch
        ? "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
        : `Unsupported endpoint type ${req.endpointType}`,
      controllerId: -1,
      brokers: [],
    };
  }
  return {
    ...base,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    brokers: svc.cluster.brokers(ctx.session.listener).map((b) => ({
      brokerId: b.nodeId,
      host: b.host,
      port: b.port,
      rack: b.rack,
      isFenced: false,
    })),
  };
});
