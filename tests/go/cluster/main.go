// sarama and franz-go against a cluster of brokers (tests/e2e/postgres_cluster_clients_test.ts): three members of one
// consumer group, each bootstrapped through a different broker, wait until the group has spread the topic's partitions
// over them; then an idempotent acks=all producer sends record i to partition i%6 (value <prefix><i>), every send is
// acknowledged at the next offset of its partition, and the group reads each record exactly once, in order per
// partition, and commits the log ends.
// Usage: cluster BOOTSTRAP1,BOOTSTRAP2,... RUN_ID [case...]  (prints `CASE ok|fail <name> ...`; exit 1 on a failure)
// The topic of a case (RUN_ID-sarama, RUN_ID-franz) exists beforehand with 6 partitions.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"chronik.test/e2e/cases"
	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	partitions = 6
	records    = 300
	bound      = 60 * time.Second
)

var (
	brokers []string
	run     string
)

func name(s string) string { return run + "-" + s }

// seen collects what a group's members hold and read: partition -> values in arrival order.
type seen struct {
	mu       sync.Mutex
	assigned map[int]map[int32]bool
	values   map[int32][]string
	total    int
	done     chan struct{}
	once     sync.Once
}

func newSeen() *seen {
	return &seen{assigned: map[int]map[int32]bool{}, values: map[int32][]string{}, done: make(chan struct{})}
}

func (s *seen) assign(member int, ps []int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.assigned[member] == nil {
		s.assigned[member] = map[int32]bool{}
	}
	for _, p := range ps {
		s.assigned[member][p] = true
	}
}

func (s *seen) revoke(member int, ps []int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range ps {
		delete(s.assigned[member], p)
	}
}

// spread: every member holds a partition, and together they hold each once.
func (s *seen) spread(members int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	held := map[int32]int{}
	for m := 0; m < members; m++ {
		if len(s.assigned[m]) == 0 {
			return false
		}
		for p := range s.assigned[m] {
			held[p]++
		}
	}
	if len(held) != partitions {
		return false
	}
	for _, n := range held {
		if n != 1 {
			return false
		}
	}
	return true
}

func (s *seen) add(p int32, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[p] = append(s.values[p], v)
	s.total++
	if s.total >= records {
		s.once.Do(func() { close(s.done) })
	}
}

// check: each partition holds exactly its records, in send order.
func (s *seen) check(prefix string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := int32(0); p < partitions; p++ {
		var want []string
		for i := int(p); i < records; i += partitions {
			want = append(want, fmt.Sprintf("%s%d", prefix, i))
		}
		if strings.Join(s.values[p], ",") != strings.Join(want, ",") {
			return fmt.Errorf("partition %d: the group read %v, want %v", p, s.values[p], want)
		}
	}
	return nil
}

func waitFor(what string, ok func() bool) error {
	deadline := time.Now().Add(bound)
	for !ok() {
		if time.Now().After(deadline) {
			return errors.New("never happened: " + what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// checkAcks: record i was acknowledged at offset i/6 of partition i%6.
func checkAcks(parts []int32, offsets []int64) error {
	for i := range parts {
		if parts[i] != int32(i%partitions) || offsets[i] != int64(i/partitions) {
			return fmt.Errorf("record %d acknowledged at %d@%d, want %d@%d", i, parts[i], offsets[i], i%partitions, i/partitions)
		}
	}
	return nil
}

type saramaMember struct {
	id int
	s  *seen
}

func (h *saramaMember) Setup(sess sarama.ConsumerGroupSession) error {
	for _, ps := range sess.Claims() {
		h.s.assign(h.id, ps)
	}
	return nil
}

func (h *saramaMember) Cleanup(sess sarama.ConsumerGroupSession) error {
	for _, ps := range sess.Claims() {
		h.s.revoke(h.id, ps)
	}
	return nil
}

func (h *saramaMember) ConsumeClaim(sess sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.s.add(m.Partition, string(m.Value))
		sess.MarkMessage(m, "")
	}
	return nil
}

func saramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V4_0_0_0
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 200 * time.Millisecond
	cfg.Metadata.RefreshFrequency = time.Second
	return cfg
}

func saramaCase() error {
	topic, group := name("sarama"), name("sarama-group")
	s := newSeen()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	var groups []sarama.ConsumerGroup
	var wg sync.WaitGroup
	for m := 0; m < 3; m++ {
		g, err := sarama.NewConsumerGroup([]string{brokers[m%len(brokers)]}, group, saramaConfig())
		if err != nil {
			return fmt.Errorf("member %d: %w", m, err)
		}
		groups = append(groups, g)
		h := &saramaMember{id: m, s: s}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := g.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
					fmt.Fprintln(os.Stderr, "sarama consume:", err)
					time.Sleep(200 * time.Millisecond)
				}
			}
		}()
	}
	if err := waitFor("the sarama group spreads the partitions over its three members", func() bool { return s.spread(3) }); err != nil {
		return err
	}

	cfg := saramaConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	producer, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	var msgs []*sarama.ProducerMessage
	for i := 0; i < records; i++ {
		msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Partition: int32(i % partitions),
			Key: sarama.StringEncoder(fmt.Sprintf("k%d", i)), Value: sarama.StringEncoder(fmt.Sprintf("s%d", i))})
	}
	if err := producer.SendMessages(msgs); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	producer.Close()
	var parts []int32
	var offsets []int64
	for _, m := range msgs {
		parts = append(parts, m.Partition)
		offsets = append(offsets, m.Offset)
	}
	if err := checkAcks(parts, offsets); err != nil {
		return err
	}

	select {
	case <-s.done:
	case <-ctx.Done():
		return fmt.Errorf("the group read %d of %d", s.total, records)
	}
	time.Sleep(300 * time.Millisecond) // a duplicate would arrive now: none may
	cancel()
	for _, g := range groups {
		g.Close() // commits what was marked
	}
	wg.Wait()
	if err := s.check("s"); err != nil {
		return err
	}
	admin, err := sarama.NewClusterAdmin(brokers, saramaConfig())
	if err != nil {
		return err
	}
	defer admin.Close()
	offs, err := admin.ListConsumerGroupOffsets(group, nil)
	if err != nil {
		return err
	}
	for p := int32(0); p < partitions; p++ {
		b := offs.GetBlock(topic, p)
		if b == nil || b.Offset != records/partitions {
			return fmt.Errorf("committed offset of partition %d: %+v, want %d", p, b, records/partitions)
		}
	}
	return nil
}

func franzCase() error {
	topic, group := name("franz"), name("franz-group")
	s := newSeen()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	var members []*kgo.Client
	for m := 0; m < 3; m++ {
		id := m
		track := func(assign bool) func(context.Context, *kgo.Client, map[string][]int32) {
			return func(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
				if assign {
					s.assign(id, ps[topic])
				} else {
					s.revoke(id, ps[topic])
				}
			}
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers[m%len(brokers)]), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.FetchMaxWait(200*time.Millisecond),
			kgo.OnPartitionsAssigned(track(true)), kgo.OnPartitionsRevoked(track(false)), kgo.OnPartitionsLost(track(false)),
			kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelWarn, nil)))
		if err != nil {
			return err
		}
		members = append(members, cl)
	}
	defer func() {
		for _, cl := range members {
			cl.Close()
		}
	}()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, len(members))
	for _, cl := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Past the bound the group's reads are checked below; a commit that fails before it fails the case.
			err := cases.Poll(ctx, cl, stop, func(r *kgo.Record) { s.add(r.Partition, string(r.Value)) },
				func() error { return cl.CommitUncommittedOffsets(ctx) })
			if err != nil && ctx.Err() == nil {
				errs <- err
			}
		}()
	}
	finish := func() error {
		close(stop)
		wg.Wait()
		close(errs)
		for err := range errs {
			return err
		}
		return nil
	}
	if err := waitFor("the franz-go group spreads the partitions over its three members", func() bool { return s.spread(3) }); err != nil {
		finish()
		return err
	}

	producer, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		finish()
		return err
	}
	var rs []*kgo.Record
	for i := 0; i < records; i++ {
		rs = append(rs, &kgo.Record{Topic: topic, Partition: int32(i % partitions), Key: []byte(fmt.Sprintf("k%d", i)),
			Value: []byte(fmt.Sprintf("f%d", i))})
	}
	perr := producer.ProduceSync(ctx, rs...).FirstErr()
	producer.Close()
	if perr != nil {
		finish()
		return fmt.Errorf("produce: %w", perr)
	}
	var parts []int32
	var offsets []int64
	for _, r := range rs {
		parts = append(parts, r.Partition)
		offsets = append(offsets, r.Offset)
	}
	if err := checkAcks(parts, offsets); err != nil {
		finish()
		return err
	}
	select {
	case <-s.done:
	case <-ctx.Done():
	}
	time.Sleep(300 * time.Millisecond) // a duplicate would arrive now: none may
	if err := finish(); err != nil {
		return err
	}
	if err := s.check("f"); err != nil {
		return err
	}
	adm := kadm.NewClient(members[0])
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return err
	}
	for p := int32(0); p < partitions; p++ {
		o, ok := offs.Lookup(topic, p)
		if !ok || o.At != records/partitions {
			return fmt.Errorf("committed offset of partition %d: %+v, want %d", p, o, records/partitions)
		}
	}
	return nil
}

func main() {
	brokers, run = strings.Split(os.Args[1], ","), os.Args[2]
	all := map[string]func() error{
		"sarama.cluster.idempotent-group": saramaCase,
		"franz.cluster.idempotent-group":  franzCase,
	}
	cases.Main(all)
}
