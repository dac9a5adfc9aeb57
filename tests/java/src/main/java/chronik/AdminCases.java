package chronik;

import static chronik.Env.check;
import static chronik.Env.eq;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.AbortTransactionSpec;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.FeatureMetadata;
import org.apache.kafka.clients.admin.FeatureUpdate;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.admin.TransactionState;
import org.apache.kafka.clients.admin.UpdateFeaturesOptions;
import org.apache.kafka.clients.admin.UserScramCredentialDeletion;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialsDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicCollection;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.InvalidPartitionsException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.quota.ClientQuotaAlteration;
import org.apache.kafka.common.quota.ClientQuotaEntity;
import org.apache.kafka.common.quota.ClientQuotaFilter;
import org.apache.kafka.common.quota.ClientQuotaFilterComponent;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;

/** The Admin client over every operation the broker offers. */
final class AdminCases {
  static final long T = 30;

  static void register(Map<String, Main.Case> cases) {
    cases.put("admin.topics-partitions", AdminCases::topics);
    cases.put("admin.configs", AdminCases::configs);
    cases.put("admin.cluster-features-logdirs", AdminCases::cluster);
    cases.put("admin.list-offsets-delete-records", AdminCases::offsets);
    cases.put("admin.groups-offsets", AdminCases::groups);
    cases.put("admin.acls", AdminCases::acls);
    cases.put("admin.scram-users", AdminCases::scram);
    cases.put("admin.client-quotas", AdminCases::quotas);
    cases.put("admin.producers-transactions-fence", AdminCases::transactions);
  }

  static <X> X get(org.apache.kafka.common.KafkaFuture<X> f) throws Exception {
    return f.get(T, TimeUnit.SECONDS);
  }

  static Throwable failure(org.apache.kafka.common.KafkaFuture<?> f) throws Exception {
    try {
      f.get(T, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    }
    throw new AssertionError("expected a failure");
  }

  static void topics(Env env) throws Exception {
    String t = env.name("adm-topic");
    try (Admin a = env.admin()) {
      NewTopic nt = new NewTopic(t, 2, (short) 1).configs(Map.of("cleanup.policy", "compact", "retention.ms", "123456"));
      get(a.createTopics(List.of(nt), new CreateTopicsOptions().validateOnly(true)).all());
      check(!get(a.listTopics().names()).contains(t), "validateOnly created nothing");
      var created = a.createTopics(List.of(nt));
      get(created.all());
      eq(2, get(created.numPartitions(t)), "numPartitions in CreateTopics response");
      Uuid id = get(created.topicId(t));
      check(failure(a.createTopics(List.of(nt)).all()) instanceof TopicExistsException, "TOPIC_ALREADY_EXISTS");
      check(get(a.listTopics().names()).contains(t), "listed");
      TopicDescription d = get(a.describeTopics(List.of(t)).allTopicNames()).get(t);
      eq(2, d.partitions().size(), "partitions");
      eq(id, d.topicId(), "topic id");
      for (TopicPartitionInfo p : d.partitions()) eq(1, p.replicas().size(), "replicas");
      TopicDescription byId = get(a.describeTopics(TopicCollection.ofTopicIds(List.of(id))).allTopicIds()).get(id);
      eq(t, byId.name(), "describe by id");
      get(a.createPartitions(Map.of(t, NewPartitions.increaseTo(5))).all());
      eq(5, get(a.describeTopics(List.of(t)).allTopicNames()).get(t).partitions().size(), "after createPartitions");
      check(
        failure(a.createPartitions(Map.of(t, NewPartitions.increaseTo(3))).all()) instanceof InvalidPartitionsException,
        "decrease refused with INVALID_PARTITIONS"
      );
      get(a.deleteTopics(TopicCollection.ofTopicIds(List.of(id))).all());
      check(!get(a.listTopics().names()).contains(t), "deleted");
      check(
        failure(a.describeTopics(List.of(t)).allTopicNames()) instanceof UnknownTopicOrPartitionException,
        "UNKNOWN_TOPIC_OR_PARTITION after delete"
      );
    }
  }

  static void configs(Env env) throws Exception {
    String t = env.name("adm-configs");
    env.createTopic(t, 1);
    ConfigResource topic = new ConfigResource(ConfigResource.Type.TOPIC, t);
    ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, "0");
    try (Admin a = env.admin()) {
      Map<ConfigResource, Config> cs = get(a.describeConfigs(List.of(topic, broker)).all());
      ConfigEntry ret = cs.get(topic).get("retention.ms");
      eq("604800000", ret.value(), "default retention.ms");
      eq(ConfigEntry.ConfigSource.DEFAULT_CONFIG, ret.source(), "source of a default");
      check(cs.get(broker).get("num.partitions") != null, "broker num.partitions described");
      get(a.incrementalAlterConfigs(Map.of(topic, List.of(
        new AlterConfigOp(new ConfigEntry("retention.ms", "3600000"), AlterConfigOp.OpType.SET),
        new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.APPEND)
      ))).all());
      Config c = get(a.describeConfigs(List.of(topic)).all()).get(topic);
      eq("3600000", c.get("retention.ms").value(), "retention.ms after SET");
      eq(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, c.get("retention.ms").source(), "source after SET");
      eq("delete,compact", c.get("cleanup.policy").value(), "cleanup.policy after APPEND");
      get(a.incrementalAlterConfigs(Map.of(topic, List.of(
        new AlterConfigOp(new ConfigEntry("retention.ms", ""), AlterConfigOp.OpType.DELETE),
        new AlterConfigOp(new ConfigEntry("cleanup.policy", "delete"), AlterConfigOp.OpType.SUBTRACT)
      ))).all());
      c = get(a.describeConfigs(List.of(topic)).all()).get(topic);
      eq("604800000", c.get("retention.ms").value(), "retention.ms after DELETE");
      eq("compact", c.get("cleanup.policy").value(), "cleanup.policy after SUBTRACT");
      Throwable bad = failure(a.incrementalAlterConfigs(Map.of(topic, List.of(
        new AlterConfigOp(new ConfigEntry("no.such.config", "1"), AlterConfigOp.OpType.SET)
      ))).all());
      check(bad instanceof org.apache.kafka.common.errors.InvalidConfigurationException
        || bad instanceof org.apache.kafka.common.errors.InvalidRequestException, "unknown config refused: " + bad);
      // Cluster-wide broker default (the empty broker name), dynamic and then removed again.
      ConfigResource cluster = new ConfigResource(ConfigResource.Type.BROKER, "");
      get(a.incrementalAlterConfigs(Map.of(cluster, List.of(
        new AlterConfigOp(new ConfigEntry("log.retention.ms", "86400000"), AlterConfigOp.OpType.SET)
      ))).all());
      Config bc = get(a.describeConfigs(List.of(broker)).all()).get(broker);
      eq("86400000", bc.get("log.retention.ms").value(), "broker log.retention.ms from the cluster default");
      eq(ConfigEntry.ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG, bc.get("log.retention.ms").source(), "its source");
      get(a.incrementalAlterConfigs(Map.of(cluster, List.of(
        new AlterConfigOp(new ConfigEntry("log.retention.ms", ""), AlterConfigOp.OpType.DELETE)
      ))).all());
      // The legacy AlterConfigs API is gone from the Java Admin in 4.x; librdkafka's alter_configs covers it.
    }
  }

  static void cluster(Env env) throws Exception {
    try (Admin a = env.admin()) {
      DescribeClusterResult r = a.describeCluster();
      String id = get(r.clusterId());
      check(id != null && !id.isEmpty(), "cluster id");
      eq(1, get(r.nodes()).size(), "nodes");
      check(get(r.controller()) != null, "controller");
      FeatureMetadata f = get(a.describeFeatures().featureMetadata());
      check(f.finalizedFeatures().containsKey("metadata.version") || f.supportedFeatures().containsKey("group.version"),
        "features described: " + f);
      check(f.supportedFeatures().containsKey("group.version"), "group.version supported: " + f.supportedFeatures());
      short gv = f.finalizedFeatures().get("group.version").maxVersionLevel();
      get(a.updateFeatures(Map.of("group.version", new FeatureUpdate(gv, FeatureUpdate.UpgradeType.UPGRADE)),
        new UpdateFeaturesOptions().validateOnly(true)).all());
      Map<Integer, Map<String, LogDirDescription>> dirs = get(a.describeLogDirs(List.of(get(r.nodes()).iterator()
        .next().id())).allDescriptions());
      eq(1, dirs.size(), "one broker in describeLogDirs");
      Map<String, LogDirDescription> one = dirs.values().iterator().next();
      eq(1, one.size(), "one log dir");
      check(one.values().iterator().next().error() == null, "log dir without error");
    }
  }

  static void offsets(Env env) throws Exception {
    String t = env.name("adm-offsets");
    env.createTopic(t, 1);
    TopicPartition tp = new TopicPartition(t, 0);
    long base = 1_700_000_000_000L;
    try (KafkaProducer<String, String> p = env.producer(Map.of())) {
      long[] ts = {base + 10, base + 50, base + 20, base + 40, base + 30};
      for (int i = 0; i < ts.length; i++) p.send(new ProducerRecord<>(t, 0, ts[i], "k" + i, "v" + i)).get(T, TimeUnit.SECONDS);
    }
    try (Admin a = env.admin()) {
      Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> r;
      r = get(a.listOffsets(Map.of(tp, OffsetSpec.earliest())).all());
      eq(0L, r.get(tp).offset(), "earliest");
      r = get(a.listOffsets(Map.of(tp, OffsetSpec.latest())).all());
      eq(5L, r.get(tp).offset(), "latest");
      r = get(a.listOffsets(Map.of(tp, OffsetSpec.maxTimestamp())).all());
      eq(1L, r.get(tp).offset(), "max timestamp offset");
      eq(base + 50, r.get(tp).timestamp(), "max timestamp");
      r = get(a.listOffsets(Map.of(tp, OffsetSpec.forTimestamp(base + 25))).all());
      eq(1L, r.get(tp).offset(), "first offset with timestamp >= base+25");
      get(a.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(3))).all());
      r = get(a.listOffsets(Map.of(tp, OffsetSpec.earliest())).all());
      eq(3L, r.get(tp).offset(), "earliest after deleteRecords");
      var low = get(a.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(-1))).lowWatermarks().get(tp));
      eq(5L, low.lowWatermark(), "deleteRecords(-1) moves to the high watermark");
    }
  }

  static void groups(Env env) throws Exception {
    String t = env.name("adm-groups");
    String g = env.name("g-adm");
    env.createTopic(t, 2);
    TopicPartition p0 = new TopicPartition(t, 0);
    TopicPartition p1 = new TopicPartition(t, 1);
    try (Admin a = env.admin()) {
      get(a.alterConsumerGroupOffsets(g, Map.of(p0, new OffsetAndMetadata(0, "meta"), p1, new OffsetAndMetadata(0)))
        .all());
      Map<TopicPartition, OffsetAndMetadata> o = get(a.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata());
      eq(0L, o.get(p0).offset(), "altered offset");
      eq("meta", o.get(p0).metadata(), "offset metadata");
      Set<String> listed = new HashSet<>();
      for (GroupListing l : get(a.listGroups().all())) listed.add(l.groupId());
      check(listed.contains(g), "listGroups has " + g);
      var d = get(a.describeConsumerGroups(List.of(g)).all()).get(g);
      eq(0, d.members().size(), "no members");
      get(a.deleteConsumerGroupOffsets(g, Set.of(p1)).all());
      o = get(a.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata());
      check(!o.containsKey(p1) && o.containsKey(p0), "offset of p1 deleted: " + o);
      get(a.deleteConsumerGroups(List.of(g)).all());
      listed.clear();
      for (GroupListing l : get(a.listGroups().all())) listed.add(l.groupId());
      check(!listed.contains(g), "group deleted");
    }
  }

  static void acls(Env env) throws Exception {
    String t = env.name("adm-acl");
    AclBinding read = new AclBinding(new ResourcePattern(ResourceType.TOPIC, t, PatternType.LITERAL),
      new AccessControlEntry("User:alice", "*", AclOperation.READ, AclPermissionType.ALLOW));
    AclBinding prefixed = new AclBinding(new ResourcePattern(ResourceType.GROUP, t, PatternType.PREFIXED),
      new AccessControlEntry("User:alice", "*", AclOperation.ALL, AclPermissionType.DENY));
    try (Admin a = env.admin()) {
      get(a.createAcls(List.of(read, prefixed)).all());
      AclBindingFilter alice = new AclBindingFilter(ResourcePatternFilter.ANY,
        new AccessControlEntryFilter("User:alice", null, AclOperation.ANY, AclPermissionType.ANY));
      Collection<AclBinding> got = get(a.describeAcls(alice).values());
      check(got.contains(read) && got.contains(prefixed), "described: " + got);
      // MATCH finds the prefixed group ACL from a longer literal name.
      AclBindingFilter match = new AclBindingFilter(
        new ResourcePatternFilter(ResourceType.GROUP, t + "-x", PatternType.MATCH), AccessControlEntryFilter.ANY);
      eq(List.of(prefixed), new ArrayList<>(get(a.describeAcls(match).values())), "MATCH filter");
      Collection<AclBinding> removed = get(a.deleteAcls(List.of(alice)).all());
      eq(new HashSet<>(List.of(read, prefixed)), new HashSet<>(removed), "deleted bindings");
      eq(0, get(a.describeAcls(alice).values()).size(), "none left");
    }
  }

  static void scram(Env env) throws Exception {
    String user = env.name("scram-user");
    try (Admin a = env.admin()) {
      get(a.alterUserScramCredentials(List.of(
        new UserScramCredentialUpsertion(user, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192), "pw1"),
        new UserScramCredentialUpsertion(user, new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), "pw2")
      )).all());
      UserScramCredentialsDescription d = get(a.describeUserScramCredentials(List.of(user)).description(user));
      Map<ScramMechanism, Integer> m = new HashMap<>();
      for (ScramCredentialInfo i : d.credentialInfos()) m.put(i.mechanism(), i.iterations());
      eq(Map.of(ScramMechanism.SCRAM_SHA_256, 8192, ScramMechanism.SCRAM_SHA_512, 4096), m, "credentials");
      get(a.alterUserScramCredentials(List.of(new UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512)))
        .all());
      d = get(a.describeUserScramCredentials(List.of(user)).description(user));
      eq(1, d.credentialInfos().size(), "one credential left");
      get(a.alterUserScramCredentials(List.of(new UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_256)))
        .all());
      check(failure(a.describeUserScramCredentials(List.of(user)).description(user))
        instanceof org.apache.kafka.common.errors.ResourceNotFoundException, "RESOURCE_NOT_FOUND for a removed user");
    }
  }

  static void quotas(Env env) throws Exception {
    String user = env.name("quota-user");
    ClientQuotaEntity e = new ClientQuotaEntity(Map.of(ClientQuotaEntity.USER, user, ClientQuotaEntity.CLIENT_ID, "app"));
    try (Admin a = env.admin()) {
      get(a.alterClientQuotas(List.of(new ClientQuotaAlteration(e, List.of(
        new ClientQuotaAlteration.Op("producer_byte_rate", 1048576.0),
        new ClientQuotaAlteration.Op("consumer_byte_rate", 2097152.0)
      )))).all());
      ClientQuotaFilter f = ClientQuotaFilter.contains(List.of(ClientQuotaFilterComponent.ofEntity(ClientQuotaEntity.USER,
        user)));
      Map<ClientQuotaEntity, Map<String, Double>> q = get(a.describeClientQuotas(f).entities());
      eq(Map.of("producer_byte_rate", 1048576.0, "consumer_byte_rate", 2097152.0), q.get(e), "quotas");
      get(a.alterClientQuotas(List.of(new ClientQuotaAlteration(e, List.of(
        new ClientQuotaAlteration.Op("producer_byte_rate", null),
        new ClientQuotaAlteration.Op("consumer_byte_rate", null)
      )))).all());
      eq(0, get(a.describeClientQuotas(f).entities()).size(), "quotas removed");
    }
  }

  /**
   * An open transaction seen through describeProducers, listTransactions and describeTransactions, aborted by the
   * admin (abortTransaction writes the marker), then the producer fenced with fenceProducers.
   */
  static void transactions(Env env) throws Exception {
    String t = env.name("adm-txn");
    String txnId = env.name("adm-txn-id");
    env.createTopic(t, 1);
    TopicPartition tp = new TopicPartition(t, 0);
    KafkaProducer<String, String> p = env.producer(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId));
    try (Admin a = env.admin()) {
      p.initTransactions();
      p.beginTransaction();
      p.send(new ProducerRecord<>(t, "k", "hanging")).get(T, TimeUnit.SECONDS);
      List<ProducerState> ps = get(a.describeProducers(List.of(tp)).partitionResult(tp)).activeProducers();
      eq(1, ps.size(), "one active producer");
      ProducerState s = ps.get(0);
      eq(0L, s.currentTransactionStartOffset().orElse(-1), "open transaction starts at offset 0");
      boolean listed = false;
      for (TransactionListing l : get(a.listTransactions().all())) {
        if (l.transactionalId().equals(txnId)) {
          listed = true;
          eq(TransactionState.ONGOING, l.state(), "listed state");
          eq(s.producerId(), l.producerId(), "listed producer id");
        }
      }
      check(listed, "listTransactions has " + txnId);
      TransactionDescription d = get(a.describeTransactions(List.of(txnId)).description(txnId));
      eq(TransactionState.ONGOING, d.state(), "described state");
      eq(Set.of(tp), d.topicPartitions(), "partitions in the transaction");
      // Before the abort, the LSO holds read_committed consumers at 0.
      Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> lso = get(a.listOffsets(Map.of(tp,
        OffsetSpec.latest()), new org.apache.kafka.clients.admin.ListOffsetsOptions(
          org.apache.kafka.common.IsolationLevel.READ_COMMITTED)).all());
      eq(0L, lso.get(tp).offset(), "last stable offset during the transaction");
      get(a.abortTransaction(new AbortTransactionSpec(tp, s.producerId(), (short) s.producerEpoch(),
        s.coordinatorEpoch().orElse(0))).all());
      lso = get(a.listOffsets(Map.of(tp, OffsetSpec.latest()), new org.apache.kafka.clients.admin.ListOffsetsOptions(
        org.apache.kafka.common.IsolationLevel.READ_COMMITTED)).all());
      eq(2L, lso.get(tp).offset(), "last stable offset after abortTransaction (record + marker)");
      eq(0, env.readAll(t, "read_committed").size(), "aborted record hidden from read_committed");
      var fenced = a.fenceProducers(List.of(txnId));
      get(fenced.all());
      check(get(fenced.epochId(txnId)) > s.producerEpoch(), "fenceProducers bumped the epoch");
      boolean wasFenced = false;
      try {
        p.send(new ProducerRecord<>(t, "k", "after-fence")).get(T, TimeUnit.SECONDS);
        p.commitTransaction();
      } catch (ExecutionException | org.apache.kafka.common.KafkaException ex) {
        wasFenced = true;
      }
      check(wasFenced, "the fenced producer cannot commit");
      eq(0, env.readAll(t, "read_committed").size(), "nothing committed by the fenced producer");
    } finally {
      p.close(java.time.Duration.ofSeconds(5));
    }
  }
}
