// A sarama (Go) client run against the broker: a sync producer with keys and headers, a consumer
// group that reads everything back, and the cluster admin listing topics.
// Built by tests/e2e/golang.ts into tests/go/bin. Usage: sarama BOOTSTRAP TOPIC COUNT
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"chronik.test/e2e/cases"
	"github.com/IBM/sarama"
)

type handler struct {
	want int
	mu   sync.Mutex
	seen map[string]bool
	done chan struct{}
}

func (h *handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.mu.Lock()
		h.seen[string(m.Value)] = true
		if len(h.seen) == h.want {
			select {
			case <-h.done:
			default:
				close(h.done)
			}
		}
		h.mu.Unlock()
		s.MarkMessage(m, "")
	}
	return nil
}

func main() {
	brokers := []string{os.Args[1]}
	topic := os.Args[2]
	n, _ := strconv.Atoi(os.Args[3])
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V4_0_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest

	admin, err := sarama.NewClusterAdmin(brokers, cfg)
	if err != nil {
		cases.Fail("admin: %v", err)
	}
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1}, false); err != nil {
		cases.Fail("create topic: %v", err)
	}
	topics, err := admin.ListTopics()
	if err != nil || topics[topic].NumPartitions != 3 {
		cases.Fail("list topics: %v %v", err, topics[topic])
	}
	admin.Close()

	producer, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		cases.Fail("producer: %v", err)
	}
	for i := 0; i < n; i++ {
		msg := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(fmt.Sprintf("k%d", i)), Value: sarama.StringEncoder(fmt.Sprintf("v%d", i)),
			Headers: []sarama.RecordHeader{{Key: []byte("h"), Value: []byte("x")}}}
		if _, _, err := producer.SendMessage(msg); err != nil {
			cases.Fail("send: %v", err)
		}
	}
	producer.Close()

	group, err := sarama.NewConsumerGroup(brokers, "sarama-group", cfg)
	if err != nil {
		cases.Fail("group: %v", err)
	}
	h := &handler{want: n, seen: map[string]bool{}, done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	go func() {
		for ctx.Err() == nil {
			if err := group.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
				fmt.Fprintln(os.Stderr, "consume:", err)
				time.Sleep(200 * time.Millisecond)
			}
		}
	}()
	select {
	case <-h.done:
	case <-ctx.Done():
		cases.Fail("consumed %d of %d", len(h.seen), n)
	}
	cancel()
	group.Close()
	fmt.Printf("ok %d\n", len(h.seen))
}
