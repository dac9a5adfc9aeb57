// sarama 1.22 (Debian) writes every record batch with MaxTimestamp -1 (a zero time.Time). The broker
// recomputes it from the records, as Kafka's LogValidator does, so ListOffsets by timestamp finds them.
// Usage: go run main.go BOOTSTRAP TOPIC
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/Shopify/sarama"
)

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	os.Exit(1)
}

func main() {
	brokers := []string{os.Args[1]}
	topic := os.Args[2]
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_1_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		fail("client: %v", err)
	}
	defer client.Close()
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		fail("producer: %v", err)
	}
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	for i := 0; i < 3; i++ {
		msg := &sarama.ProducerMessage{Topic: topic, Partition: 0, Value: sarama.StringEncoder(fmt.Sprintf("v%d", i)),
			Timestamp: t0.Add(time.Duration(i*100) * time.Millisecond)}
		if _, _, err := producer.SendMessage(msg); err != nil {
			fail("send: %v", err)
		}
	}
	// The first record at or after t0+150 ms is the third one, offset 2.
	off, err := client.GetOffset(topic, 0, t0.Add(150*time.Millisecond).UnixNano()/int64(time.Millisecond))
	if err != nil {
		fail("list offsets: %v", err)
	}
	fmt.Printf("offset %d\n", off)
}
