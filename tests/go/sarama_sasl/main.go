// A sarama (Go) client authenticating with SASL (SaslHandshake v1 + SaslAuthenticate): PLAIN, or
// SCRAM-SHA-256/512 through xdg-go/scram; produces COUNT records and reads them back.
// Built by tests/e2e/golang.ts into tests/go/bin. Usage: sarama_sasl BOOTSTRAP MECHANISM USER PASSWORD TOPIC COUNT
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"chronik.test/e2e/cases"
	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

type scramClient struct {
	*scram.ClientConversation
	hash scram.HashGeneratorFcn
}

func (c *scramClient) Begin(user, password, authz string) error {
	client, err := c.hash.NewClient(user, password, authz)
	if err != nil {
		return err
	}
	c.ClientConversation = client.NewConversation()
	return nil
}

func (c *scramClient) Step(challenge string) (string, error) {
	return c.ClientConversation.Step(challenge)
}
func (c *scramClient) Done() bool { return c.ClientConversation.Done() }

func main() {
	brokers := []string{os.Args[1]}
	mechanism, user, password, topic := os.Args[2], os.Args[3], os.Args[4], os.Args[5]
	n, _ := strconv.Atoi(os.Args[6])
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V4_0_0_0
	cfg.Net.SASL.Enable = true
	cfg.Net.SASL.Handshake = true
	cfg.Net.SASL.User = user
	cfg.Net.SASL.Password = password
	cfg.Net.SASL.Mechanism = sarama.SASLMechanism(mechanism)
	switch mechanism {
	case "SCRAM-SHA-256":
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.SHA256} }
	case "SCRAM-SHA-512":
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.SHA512} }
	}
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Metadata.Retry.Max = 1

	producer, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		cases.Fail("producer: %v", err)
	}
	for i := 0; i < n; i++ {
		if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: 0, Value: sarama.StringEncoder(fmt.Sprintf("v%d", i))}); err != nil {
			cases.Fail("send: %v", err)
		}
	}
	producer.Close()

	consumer, err := sarama.NewConsumer(brokers, cfg)
	if err != nil {
		cases.Fail("consumer: %v", err)
	}
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		cases.Fail("consume partition: %v", err)
	}
	got := 0
	timeout := time.After(20 * time.Second)
	for got < n {
		select {
		case m := <-pc.Messages():
			if string(m.Value) != fmt.Sprintf("v%d", got) {
				cases.Fail("record %d: %s", got, m.Value)
			}
			got++
		case <-timeout:
			cases.Fail("timed out after %d of %d records", got, n)
		}
	}
	pc.Close()
	consumer.Close()
	fmt.Printf("ok %d\n", got)
}
