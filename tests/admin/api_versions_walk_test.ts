// Walks ApiVersions: for every advertised API, a legitimate request at every advertised version
// (lowest to highest) must get a well-formed response without errors (or only the error Kafka
// gives to that legitimate request, listed per API below). A new handler without a scenario here
// fails the "every API has a scenario" test, so the walk stays complete.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Broker } from "../../src/broker/broker.ts";
import { ErrorCode } from "../../src/protocol/errors.ts";
import { buildMessageSet } from "../../src/protocol/legacy_message_set.ts";
import { Produce } from "../../src/protocol/messages/00_produce.ts";
import { Fetch } from "../../src/protocol/messages/01_fetch.ts";
import { ListOffsets } from "../../src/protocol/messages/02_list_offsets.ts";
import { Metadata } from "../../src/protocol/messages/03_metadata.ts";
import { OffsetCommit } from "../../src/protocol/messages/08_offset_commit.ts";
import { OffsetFetch } from "../../src/protocol/messages/09_offset_fetch.ts";
import { FindCoordinator } from "../../src/protocol/messages/10_find_coordinator.ts";
import { JoinGroup } from "../../src/protocol/messages/11_join_group.ts";
import { Heartbeat } from "../../src/protocol/messages/12_heartbeat.ts";
import { LeaveGroup } from "../../src/protocol/messages/13_leave_group.ts";
import { SyncGroup } from "../../src/protocol/messages/14_sync_group.ts";
import { DescribeGroups } from "../../src/protocol/messages/15_describe_groups.ts";
import { ListGroups } from "../../src/protocol/messages/16_list_groups.ts";
import { ApiVersions } from "../../src/protocol/messages/18_api_versions.ts";
import { CreateTopics } from "../../src/protocol/messages/19_create_topics.ts";
import { DeleteTopics } from "../../src/protocol/messages/20_delete_topics.ts";
import { DeleteRecords } from "../../src/protocol/messages/21_delete_records.ts";
import { InitProducerId } from "../../src/protocol/messages/22_init_producer_id.ts";
import { initProducerIdRequest } from "../helpers/requests.ts";
import { OffsetForLeaderEpoch } from "../../src/protocol/messages/23_offset_for_leader_epoch.ts";
import { AddPartitionsToTxn } from "../../src/protocol/messages/24_add_partitions_to_txn.ts";
import { AddOffsetsToTxn } from "../../src/protocol/messages/25_add_offsets_to_txn.ts";
import { EndTxn } from "../../src/protocol/messages/26_end_txn.ts";
import { WriteTxnMarkers } from "../../src/protocol/messages/27_write_txn_markers.ts";
import { TxnOffsetCommit } from "../../src/protocol/messages/28_txn_offset_commit.ts";
import { DescribeConfigs } from "../../src/protocol/messages/32_describe_configs.ts";
import { AlterConfigs } from "../../src/protocol/messages/33_alter_configs.ts";
import { AlterReplicaLogDirs } from "../../src/protocol/messages/34_alter_replica_log_dirs.ts";
import { DescribeLogDirs } from "../../src/protocol/messages/35_describe_log_dirs.ts";
import { CreatePartitions } from "../../src/protocol/messages/37_create_partitions.ts";
import { DeleteGroups } from "../../src/protocol/messages/42_delete_groups.ts";
import { ElectLeaders } from "../../src/protocol/messages/43_elect_leaders.ts";
import { IncrementalAlterConfigs } from "../../src/protocol/messages/44_incremental_alter_configs.ts";
import { AlterPartitionReassignments } from "../../src/protocol/messages/45_alter_partition_reassignments.ts";
import { ListPartitionReassignments } from "../../src/protocol/messages/46_list_partition_reassignments.ts";
import { OffsetDelete } from "../../src/protocol/messages/47_offset_delete.ts";
import { DescribeClientQuotas } from "../../src/protocol/messages/48_describe_client_quotas.ts";
import { AlterClientQuotas } from "../../src/protocol/messages/49_alter_client_quotas.ts";
import { UpdateFeatures } from "../../src/protocol/messages/57_update_features.ts";
import { DescribeCluster } from "../../src/protocol/messages/60_describe_cluster.ts";
import { DescribeProducers } from "../../src/protocol/messages/61_describe_producers.ts";
import { DescribeTransactions } from "../../src/protocol/messages/65_describe_transactions.ts";
import { ListTransactions } from "../../src/protocol/messages/66_list_transactions.ts";
import { SaslHandshake } from "../../src/protocol/messages/17_sasl_handshake.ts";
import { DescribeAcls } from "../../src/protocol/messages/29_describe_acls.ts";
import { CreateAcls } from "../../src/protocol/messages/30_create_acls.ts";
import { DeleteAcls } from "../../src/protocol/messages/31_delete_acls.ts";
import { SaslAuthenticate } from "../../src/protocol/messages/36_sasl_authenticate.ts";
import { DescribeUserScramCredentials } from "../../src/protocol/messages/50_describe_user_scram_credentials.ts";
import { AlterUserScramCredentials } from "../../src/protocol/messages/51_alter_user_scram_credentials.ts";
import { ConsumerGroupHeartbeat } from "../../src/protocol/messages/68_consumer_group_heartbeat.ts";
import { ConsumerGroupDescribe } from "../../src/protocol/messages/69_consumer_group_describe.ts";
import { GetTelemetrySubscriptions } from "../../src/protocol/messages/71_get_telemetry_subscriptions.ts";
import { PushTelemetry } from "../../src/protocol/messages/72_push_telemetry.ts";
import { ListConfigResources } from "../../src/protocol/messages/74_list_config_resources.ts";
import { DescribeTopicPartitions } from "../../src/protocol/messages/75_describe_topic_partitions.ts";
import { ShareGroupHeartbeat } from "../../src/protocol/messages/76_share_group_heartbeat.ts";
import { ShareGroupDescribe } from "../../src/protocol/messages/77_share_group_describe.ts";
import { ShareFetch } from "../../src/protocol/messages/78_share_fetch.ts";
import { ShareAcknowledge } from "../../src/protocol/messages/79_share_acknowledge.ts";
import { DescribeShareGroupOffsets } from "../../src/protocol/messages/90_describe_share_group_offsets.ts";
import { AlterShareGroupOffsets } from "../../src/protocol/messages/91_alter_share_group_offsets.ts";
import { DeleteShareGroupOffsets } from "../../src/protocol/messages/92_delete_share_group_offsets.ts";
import { buildRecordBatch } from "../../src/protocol/record_batch.ts";
import { testBroker } from "../helpers/broker.ts";
import { WireClient } from "../helpers/wire_client.ts";
import { ZERO_UUID } from "../../src/protocol/codec.ts";

const TOPIC = "walk";
const enc = new TextEncoder();
let broker: Broker;
let c: WireClient;
let topicId = "";
let seq = 0;
const uniq = (p: string) => `${p}-${++seq}`;

const batch = () =>
  buildRecordBatch({ records: [{ key: enc.encode("k"), value: enc.encode("v"), timestamp: Date.now() }] });

/** A member of a classic group at a generation (JoinGroup v5 twice, then SyncGroup as leader). */
async function member(groupId: string) {
  const join = (memberId: string) =>
    c.send(JoinGroup, 5, {
      groupId,
      sessionTimeoutMs: 30000,
      rebalanceTimeoutMs: 30000,
      memberId,
      groupInstanceId: null,
      protocolType: "consumer",
      protocols: [{ name: "range", metadata: new Uint8Array(0) }],
      reason: null,
    });
  let j = await join("");
  if (j.errorCode === ErrorCode.MEMBER_ID_REQUIRED) j = await join(j.memberId!);
  expect(j.errorCode).toBe(0);
  const s = await c.send(SyncGroup, 3, {
    groupId,
    generationId: j.generationId!,
    memberId: j.memberId!,
    groupInstanceId: null,
    protocolType: "consumer",
    protocolName: "range",
    assignments: [{ memberId: j.memberId!, assignment: new Uint8Array(0) }],
  });
  expect(s.errorCode).toBe(0);
  return { memberId: j.memberId!, generationId: j.generationId! };
}

async function commitOffset(groupId: string) {
  const r = await c.send(OffsetCommit, 2, {
    groupId,
    generationIdOrMemberEpoch: -1,
    memberId: "",
    groupInstanceId: null,
    retentionTimeMs: -1n,
    topics: [{
      name: TOPIC,
      topicId: ZERO_UUID,
      partitions: [{
        partitionIndex: 0,
        committedOffset: 1n,
        committedLeaderEpoch: -1,
        commitTimestamp: -1n,
        committedMetadata: "",
      }],
    }],
  });
  expect(r.topics![0].partitions![0].errorCode).toBe(0);
}

async function txnProducer() {
  const transactionalId = uniq("walk-tx");
  const r = await c.send(InitProducerId, 2, initProducerIdRequest(transactionalId, 60000));
  expect(r.errorCode).toBe(0);
  return { transactionalId, producerId: r.producerId!, producerEpoch: r.producerEpoch! };
}

type Scenario = { run: (v: number) => Promise<unknown>; allowed?: number[] };

const SCENARIOS: Record<number, Scenario> = {
  0: {
    run: (v) =>
      c.send(Produce, v, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topicData: [{
          name: TOPIC,
          topicId, // v13 names the topic by id
          partitionData: [{
            index: 0,
            records: v <= 2
              ? buildMessageSet(1, [{ key: enc.encode("k"), value: enc.encode("v"), timestamp: BigInt(Date.now()) }])
              : batch(),
          }],
        }],
      }),
  },
  1: {
    run: (v) =>
      c.send(Fetch, v, {
        clusterId: null,
        replicaId: -1,
        replicaState: { replicaId: -1, replicaEpoch: -1n },
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{
          topic: TOPIC,
          topicId,
          partitions: [{
            partition: 0,
            currentLeaderEpoch: -1,
            fetchOffset: 0n,
            lastFetchedEpoch: -1,
            logStartOffset: -1n,
            partitionMaxBytes: 1 << 20,
            replicaDirectoryId: "AAAAAAAAAAAAAAAAAAAAAA",
            highWatermark: 9223372036854775807n,
          }],
        }],
        forgottenTopicsData: [],
        rackId: "",
      }),
  },
  2: {
    run: (v) =>
      c.send(ListOffsets, v, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{
          name: TOPIC,
          partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n, maxNumOffsets: 1 }],
        }],
        timeoutMs: 1000,
      }),
  },
  3: {
    run: (v) =>
      c.send(Metadata, v, {
        topics: [{ topicId: "AAAAAAAAAAAAAAAAAAAAAA", name: TOPIC }],
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      }),
  },
  8: {
    run: async (v) => {
      const groupId = uniq("walk-commit");
      return c.send(OffsetCommit, v, {
        groupId,
        generationIdOrMemberEpoch: -1,
        memberId: "",
        groupInstanceId: null,
        retentionTimeMs: -1n,
        topics: [{
          name: TOPIC,
          topicId: ZERO_UUID,
          partitions: [{
            partitionIndex: 0,
            committedOffset: 1n,
            committedLeaderEpoch: -1,
            commitTimestamp: -1n,
            committedMetadata: "",
          }],
        }],
      });
    },
  },
  9: {
    run: async (v) => {
      const groupId = uniq("walk-fetch");
      await commitOffset(groupId);
      return c.send(OffsetFetch, v, {
        groupId,
        topics: [{ name: TOPIC, partitionIndexes: [0] }],
        groups: [{
          groupId,
          memberId: null,
          memberEpoch: -1,
          topics: [{ name: TOPIC, topicId: ZERO_UUID, partitionIndexes: [0] }],
        }],
        requireStable: false,
      });
    },
  },
  10: { run: (v) => c.send(FindCoordinator, v, { key: "walk-group", keyType: 0, coordinatorKeys: ["walk-group"] }) },
  11: {
    // v4+ answers a first join without a member id with MEMBER_ID_REQUIRED (KIP-394); join again with it.
    run: async (v) => {
      const groupId = uniq("walk-join");
      const join = (memberId: string) =>
        c.send(JoinGroup, v, {
          groupId,
          sessionTimeoutMs: 30000,
          rebalanceTimeoutMs: 30000,
          memberId,
          groupInstanceId: null,
          protocolType: "consumer",
          protocols: [{ name: "range", metadata: new Uint8Array(0) }],
          reason: null,
        });
      const first = await join("");
      return first.errorCode === ErrorCode.MEMBER_ID_REQUIRED && v >= 4 ? join(first.memberId!) : first;
    },
  },
  12: {
    run: async (v) => {
      const groupId = uniq("walk-hb");
      const m = await member(groupId);
      return c.send(Heartbeat, v, {
        groupId,
        generationId: m.generationId,
        memberId: m.memberId,
        groupInstanceId: null,
      });
    },
  },
  13: {
    run: async (v) => {
      const groupId = uniq("walk-leave");
      const m = await member(groupId);
      return c.send(LeaveGroup, v, {
        groupId,
        memberId: m.memberId,
        members: [{ memberId: m.memberId, groupInstanceId: null, reason: null }],
      });
    },
  },
  14: {
    run: async (v) => {
      const groupId = uniq("walk-sync");
      const join = (memberId: string) =>
        c.send(JoinGroup, 5, {
          groupId,
          sessionTimeoutMs: 30000,
          rebalanceTimeoutMs: 30000,
          memberId,
          groupInstanceId: null,
          protocolType: "consumer",
          protocols: [{ name: "range", metadata: new Uint8Array(0) }],
          reason: null,
        });
      let j = await join("");
      if (j.errorCode === ErrorCode.MEMBER_ID_REQUIRED) j = await join(j.memberId!);
      return c.send(SyncGroup, v, {
        groupId,
        generationId: j.generationId!,
        memberId: j.memberId!,
        groupInstanceId: null,
        protocolType: "consumer",
        protocolName: "range",
        assignments: [{ memberId: j.memberId!, assignment: new Uint8Array(0) }],
      });
    },
  },
  15: {
    run: async (v) => {
      const groupId = uniq("walk-describe");
      await member(groupId);
      return c.send(DescribeGroups, v, { groups: [groupId], includeAuthorizedOperations: true });
    },
  },
  16: { run: (v) => c.send(ListGroups, v, { statesFilter: [], typesFilter: [] }) },
  18: { run: (v) => c.send(ApiVersions, v, { clientSoftwareName: "walk", clientSoftwareVersion: "1.0" }) },
  19: {
    run: (v) =>
      c.send(CreateTopics, v, {
        topics: [{
          name: uniq("walk-created"),
          numPartitions: 1,
          replicationFactor: 1,
          assignments: [],
          configs: [{ name: "retention.ms", value: "60000" }],
        }],
        timeoutMs: 1000,
        validateOnly: false,
      }),
  },
  20: {
    run: async (v) => {
      const name = uniq("walk-deleted");
      const cr = await c.send(CreateTopics, 7, {
        topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 1000,
        validateOnly: false,
      });
      return c.send(DeleteTopics, v, {
        topicNames: [name],
        topics: [{ name: null, topicId: cr.topics![0].topicId! }],
        timeoutMs: 1000,
      });
    },
  },
  21: {
    run: (v) =>
      c.send(DeleteRecords, v, {
        topics: [{ name: TOPIC, partitions: [{ partitionIndex: 1, offset: 0n }] }],
        timeoutMs: 1000,
      }),
  },
  22: {
    run: (v) => c.send(InitProducerId, v, initProducerIdRequest(null, 60000)),
  },
  23: {
    run: (v) =>
      c.send(OffsetForLeaderEpoch, v, {
        replicaId: -1,
        topics: [{ topic: TOPIC, partitions: [{ partition: 0, currentLeaderEpoch: 0, leaderEpoch: 0 }] }],
      }),
  },
  24: {
    run: async (v) => {
      const p = await txnProducer();
      const topics = [{ name: TOPIC, partitions: [0] }];
      return c.send(AddPartitionsToTxn, v, {
        transactions: [{ ...p, verifyOnly: false, topics }],
        v3AndBelowTransactionalId: p.transactionalId,
        v3AndBelowProducerId: p.producerId,
        v3AndBelowProducerEpoch: p.producerEpoch,
        v3AndBelowTopics: topics,
      });
    },
  },
  25: {
    run: async (v) => {
      const p = await txnProducer();
      return c.send(AddOffsetsToTxn, v, { ...p, groupId: uniq("walk-txn-group") });
    },
  },
  26: {
    run: async (v) => {
      const p = await txnProducer();
      const add = await c.send(AddOffsetsToTxn, 3, { ...p, groupId: uniq("walk-txn-group") });
      expect(add.errorCode).toBe(0);
      return c.send(EndTxn, v, { ...p, committed: false });
    },
  },
  27: {
    run: (v) =>
      c.send(WriteTxnMarkers, v, {
        markers: [{
          producerId: 987654n,
          producerEpoch: 0,
          transactionResult: false,
          coordinatorEpoch: 0,
          topics: [{ name: TOPIC, partitionIndexes: [1] }],
        }],
      }),
  },
  28: {
    run: async (v) => {
      const p = await txnProducer();
      const groupId = uniq("walk-txn-group");
      const add = await c.send(AddOffsetsToTxn, 3, { ...p, groupId });
      expect(add.errorCode).toBe(0);
      return c.send(TxnOffsetCommit, v, {
        ...p,
        groupId,
        generationId: -1,
        memberId: "",
        groupInstanceId: null,
        topics: [{
          name: TOPIC,
          partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }],
        }],
      });
    },
  },
  32: {
    run: (v) =>
      c.send(DescribeConfigs, v, {
        resources: [{ resourceType: 2, resourceName: TOPIC, configurationKeys: null }, {
          resourceType: 4,
          resourceName: "0",
          configurationKeys: null,
        }],
        includeSynonyms: true,
        includeDocumentation: true,
      }),
  },
  33: {
    run: (v) =>
      c.send(AlterConfigs, v, {
        resources: [{ resourceType: 2, resourceName: TOPIC, configs: [{ name: "retention.ms", value: "86400000" }] }],
        validateOnly: false,
      }),
  },
  34: {
    run: async (v) => {
      const logDir = (await c.send(DescribeLogDirs, 1, { topics: [] })).results![0].logDir!;
      return c.send(AlterReplicaLogDirs, v, { dirs: [{ path: logDir, topics: [{ name: TOPIC, partitions: [0] }] }] });
    },
  },
  35: { run: (v) => c.send(DescribeLogDirs, v, { topics: null }) },
  37: {
    run: async (v) => {
      const name = uniq("walk-grow");
      await c.send(CreateTopics, 7, {
        topics: [{ name, numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] }],
        timeoutMs: 1000,
        validateOnly: false,
      });
      return c.send(CreatePartitions, v, {
        topics: [{ name, count: 3, assignments: null }],
        timeoutMs: 1000,
        validateOnly: false,
      });
    },
  },
  42: {
    run: async (v) => {
      const groupId = uniq("walk-delete-group");
      await commitOffset(groupId);
      return c.send(DeleteGroups, v, { groupsNames: [groupId] });
    },
  },
  // One node is always the preferred leader: Kafka's answer is ELECTION_NOT_NEEDED.
  43: {
    run: (v) =>
      c.send(ElectLeaders, v, {
        electionType: 0,
        topicPartitions: [{ topic: TOPIC, partitions: [0] }],
        timeoutMs: 1000,
      }),
    allowed: [ErrorCode.ELECTION_NOT_NEEDED],
  },
  44: {
    run: (v) =>
      c.send(IncrementalAlterConfigs, v, {
        resources: [{
          resourceType: 2,
          resourceName: TOPIC,
          configs: [{ name: "cleanup.policy", configOperation: 2, value: "delete" }],
        }],
        validateOnly: false,
      }),
  },
  45: {
    run: (v) =>
      c.send(AlterPartitionReassignments, v, {
        timeoutMs: 1000,
        allowReplicationFactorChange: true,
        topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, replicas: [0] }] }],
      }),
  },
  46: { run: (v) => c.send(ListPartitionReassignments, v, { timeoutMs: 1000, topics: null }) },
  47: {
    run: async (v) => {
      const groupId = uniq("walk-offset-delete");
      await commitOffset(groupId);
      return c.send(OffsetDelete, v, { groupId, topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0 }] }] });
    },
  },
  48: {
    run: (v) =>
      c.send(DescribeClientQuotas, v, {
        components: [{ entityType: "user", matchType: 2, match: null }],
        strict: false,
      }),
  },
  49: {
    run: (v) =>
      c.send(AlterClientQuotas, v, {
        entries: [{
          entity: [{ entityType: "user", entityName: uniq("walk-user") }],
          ops: [{ key: "producer_byte_rate", value: 1048576, remove: false }],
        }],
        validateOnly: false,
      }),
  },
  57: {
    run: (v) =>
      c.send(UpdateFeatures, v, {
        timeoutMs: 1000,
        featureUpdates: [{ feature: "group.version", maxVersionLevel: 1, allowDowngrade: false, upgradeType: 1 }],
        validateOnly: false,
      }),
  },
  60: {
    run: (v) =>
      c.send(DescribeCluster, v, {
        includeClusterAuthorizedOperations: true,
        includeFencedBrokers: false,
        endpointType: 1,
      }),
  },
  61: { run: (v) => c.send(DescribeProducers, v, { topics: [{ name: TOPIC, partitionIndexes: [0] }] }) },
  65: {
    run: async (v) => {
      const p = await txnProducer();
      return c.send(DescribeTransactions, v, { transactionalIds: [p.transactionalId] });
    },
  },
  66: {
    run: (v) =>
      c.send(ListTransactions, v, {
        stateFilters: [],
        producerIdFilters: [],
        durationFilter: -1n,
        transactionalIdPattern: null,
      }),
  },
  17: {
    run: (v) => onSide(saslBroker, (x) => x.send(SaslHandshake, v, { mechanism: "PLAIN" })),
  },
  36: {
    run: (v) =>
      onSide(saslBroker, async (x) => {
        expect((await x.send(SaslHandshake, 1, { mechanism: "PLAIN" })).errorCode).toBe(0);
        return await x.send(SaslAuthenticate, v, { authBytes: enc.encode("\u0000walk\u0000walk-secret") });
      }),
  },
  29: {
    run: (v) =>
      onSide(
        aclBroker,
        (x) =>
          x.send(DescribeAcls, v, {
            resourceTypeFilter: 1,
            resourceNameFilter: null,
            patternTypeFilter: 1,
            principalFilter: null,
            hostFilter: null,
            operation: 1,
            permissionType: 1,
          }),
      ),
  },
  30: {
    run: (v) =>
      onSide(
        aclBroker,
        (x) =>
          x.send(CreateAcls, v, {
            creations: [{
              resourceType: 2,
              resourceName: uniq("walk-acl"),
              resourcePatternType: 3,
              principal: "User:alice",
              host: "*",
              operation: 3,
              permissionType: 3,
            }],
          }),
      ),
  },
  31: {
    run: (v) =>
      onSide(aclBroker, async (x) => {
        const name = uniq("walk-acl");
        await x.send(CreateAcls, 1, {
          creations: [{
            resourceType: 2,
            resourceName: name,
            resourcePatternType: 3,
            principal: "User:alice",
            host: "*",
            operation: 3,
            permissionType: 3,
          }],
        });
        return await x.send(DeleteAcls, v, {
          filters: [{
            resourceTypeFilter: 2,
            resourceNameFilter: name,
            patternTypeFilter: 3,
            principalFilter: null,
            hostFilter: null,
            operation: 1,
            permissionType: 1,
          }],
        });
      }),
  },
  50: {
    run: async (v) => {
      await c.send(AlterUserScramCredentials, 0, {
        deletions: [],
        upsertions: [{
          name: "walk-user",
          mechanism: 1,
          iterations: 4096,
          salt: enc.encode("salt"),
          saltedPassword: new Uint8Array(32).fill(7),
        }],
      });
      return c.send(DescribeUserScramCredentials, v, { users: [{ name: "walk-user" }] });
    },
  },
  51: {
    run: (v) =>
      c.send(AlterUserScramCredentials, v, {
        deletions: [],
        upsertions: [{
          name: uniq("walk-user"),
          mechanism: 2,
          iterations: 8192,
          salt: enc.encode("salt"),
          saltedPassword: new Uint8Array(64).fill(9),
        }],
      }),
  },
  68: {
    run: (v) =>
      c.send(ConsumerGroupHeartbeat, v, {
        groupId: uniq("walk-848"),
        memberId: crypto.randomUUID().replace(/-/g, "").slice(0, 22),
        memberEpoch: 0,
        instanceId: null,
        rackId: null,
        rebalanceTimeoutMs: 30000,
        subscribedTopicNames: [TOPIC],
        subscribedTopicRegex: null,
        serverAssignor: null,
        topicPartitions: [],
      }),
  },
  69: {
    run: async (v) => {
      const groupId = uniq("walk-848-describe");
      const hb = await c.send(ConsumerGroupHeartbeat, 0, {
        groupId,
        memberId: crypto.randomUUID().replace(/-/g, "").slice(0, 22),
        memberEpoch: 0,
        instanceId: null,
        rackId: null,
        rebalanceTimeoutMs: 30000,
        subscribedTopicNames: [TOPIC],
        subscribedTopicRegex: null,
        serverAssignor: null,
        topicPartitions: [],
      });
      expect(hb.errorCode).toBe(0);
      return c.send(ConsumerGroupDescribe, v, { groupIds: [groupId], includeAuthorizedOperations: true });
    },
  },
  71: { run: (v) => c.send(GetTelemetrySubscriptions, v, { clientInstanceId: "AAAAAAAAAAAAAAAAAAAAAA" }) },
  72: {
    run: async (v) => {
      const sub = await c.send(GetTelemetrySubscriptions, 0, { clientInstanceId: "AAAAAAAAAAAAAAAAAAAAAA" });
      return c.send(PushTelemetry, v, {
        clientInstanceId: sub.clientInstanceId!,
        subscriptionId: sub.subscriptionId!,
        terminating: true,
        compressionType: 0,
        metrics: new Uint8Array(0),
      });
    },
  },
  74: {
    run: async (v) => {
      const r = await c.send(ListConfigResources, v, { resourceTypes: [] });
      if (v >= 1) expect(r.configResources!.some((x) => x.resourceName === TOPIC && x.resourceType === 2)).toBe(true);
      return r;
    },
  },
  76: {
    run: async (v) => {
      // Share groups are off until share.version 1 is finalized (Kafka 4.1).
      const u = await c.send(UpdateFeatures, 1, {
        timeoutMs: 1000,
        featureUpdates: [{ feature: "share.version", maxVersionLevel: 1, allowDowngrade: false, upgradeType: 1 }],
        validateOnly: false,
      });
      expect(u.errorCode).toBe(0);
      return c.send(ShareGroupHeartbeat, v, {
        groupId: "walk-share",
        memberId: "walk-member",
        memberEpoch: 0,
        rackId: null,
        subscribedTopicNames: [TOPIC],
      });
    },
  },
  77: { run: (v) => c.send(ShareGroupDescribe, v, { groupIds: ["walk-share"], includeAuthorizedOperations: true }) },
  78: {
    run: (v) =>
      c.send(ShareFetch, v, {
        groupId: "walk-share",
        memberId: "walk-member",
        shareSessionEpoch: 0,
        maxWaitMs: 0,
        minBytes: 1,
        maxBytes: 1 << 20,
        maxRecords: 10,
        batchSize: 10,
        topics: [{ topicId, partitions: [{ partitionIndex: 0, partitionMaxBytes: 0, acknowledgementBatches: [] }] }],
        forgottenTopicsData: [],
      }),
  },
  79: {
    // The session the ShareFetch above opened is at epoch 1: an empty acknowledgement in it.
    run: (v) =>
      c.send(ShareAcknowledge, v, { groupId: "walk-share", memberId: "walk-member", shareSessionEpoch: 1, topics: [] }),
  },
  90: {
    run: (v) =>
      c.send(DescribeShareGroupOffsets, v, {
        groups: [{ groupId: "walk-share", topics: [{ topicName: TOPIC, partitions: [0] }] }],
      }),
  },
  91: {
    run: (v) =>
      c.send(AlterShareGroupOffsets, v, {
        groupId: uniq("walk-share-alter"),
        topics: [{ topicName: TOPIC, partitions: [{ partitionIndex: 0, startOffset: 0n }] }],
      }),
  },
  92: {
    run: async (v) => {
      const groupId = uniq("walk-share-delete");
      await c.send(AlterShareGroupOffsets, 0, {
        groupId,
        topics: [{ topicName: TOPIC, partitions: [{ partitionIndex: 0, startOffset: 0n }] }],
      });
      return c.send(DeleteShareGroupOffsets, v, { groupId, topics: [{ topicName: TOPIC }] });
    },
  },
  75: {
    run: (v) =>
      c.send(DescribeTopicPartitions, v, { topics: [{ name: TOPIC }], responsePartitionLimit: 2000, cursor: null }),
  },
};

/** Every errorCode anywhere in a response, with its path. */
function errorCodes(v: unknown, path = "$", out: [string, number][] = []): [string, number][] {
  if (Array.isArray(v)) v.forEach((x, i) => errorCodes(x, `${path}[${i}]`, out));
  else if (v !== null && typeof v === "object" && !(v instanceof Uint8Array)) {
    for (const [k, x] of Object.entries(v)) {
      if (k === "errorCode" && typeof x === "number") out.push([`${path}.${k}`, x]);
      else errorCodes(x, `${path}.${k}`, out);
    }
  }
  return out;
}

let advertised: { apiKey: number; minVersion: number; maxVersion: number }[] = [];

/** `fn` with a fresh connection to a side broker, closed after. */
async function onSide<T>(side: () => Promise<Broker>, fn: (x: WireClient) => Promise<T>): Promise<T> {
  const x = await WireClient.connect((await side()).port);
  try {
    return await fn(x);
  } finally {
    x.close();
  }
}

/** A broker with the authorizer on, where the walk's anonymous principal is a super user. */
let acl: Broker | null = null;
async function aclBroker(): Promise<Broker> {
  acl ??= await testBroker({
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": "User:ANONYMOUS",
    logLevel: "warn",
  });
  return acl;
}

/** A broker with a SASL_PLAINTEXT listener for the SASL APIs, started on first use. */
let sasl: Broker | null = null;
async function saslBroker(): Promise<Broker> {
  sasl ??= await testBroker({
    listeners: "SASL_PLAINTEXT://127.0.0.1:0",
    "sasl.jaas.config": 'org.apache.kafka.common.security.plain.PlainLoginModule required user_walk="walk-secret";',
    logLevel: "warn",
  });
  return sasl;
}

beforeAll(async () => {
  broker = await testBroker({ "group.initial.rebalance.delay.ms": 0, logLevel: "warn" });
  c = await WireClient.connect(broker.port);
  const cr = await c.send(CreateTopics, 7, {
    topics: [{ name: TOPIC, numPartitions: 2, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 1000,
    validateOnly: false,
  });
  expect(cr.topics![0].errorCode).toBe(0);
  topicId = cr.topics![0].topicId!;
  const av = await c.send(ApiVersions, 3, { clientSoftwareName: "walk", clientSoftwareVersion: "1.0" });
  advertised = av.apiKeys!.map((k) => ({ apiKey: k.apiKey!, minVersion: k.minVersion!, maxVersion: k.maxVersion! }));
});
afterAll(async () => {
  c.close();
  await broker.close();
  await sasl?.close();
  await acl?.close();
});

describe("ApiVersions walk", () => {
  test("every advertised API has a scenario", () => {
    expect(advertised.length).toBeGreaterThan(20);
    expect(advertised.map((a) => a.apiKey).filter((k) => !SCENARIOS[k])).toEqual([]);
  });
  test("every advertised version answers legitimate requests without errors", async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const a of advertised) {
      const s = SCENARIOS[a.apiKey];
      if (!s) continue;
      for (let v = a.minVersion; v <= a.maxVersion; v++) {
        try {
          const res = await s.run(v);
          const codes = errorCodes(res);
          checked += codes.length;
          const bad = codes.filter(([, code]) => code !== 0 && !(s.allowed ?? []).includes(code));
          if (bad.length > 0) {
            failures.push(`api ${a.apiKey} v${v}: ${bad.map(([p, code]) => `${p}=${code}`).join(", ")}`);
          }
        } catch (e) {
          failures.push(`api ${a.apiKey} v${v}: ${e instanceof Error ? e.message : String(e)}`);
          if (c.isClosed) c = await WireClient.connect(broker.port);
        }
      }
    }
    expect(failures).toEqual([]);
    // The walk looked at real answers: most responses carry at least one error code.
    expect(checked).toBeGreaterThan(advertised.length);
  }, 60_000);
});
