// franz-go (kgo, kadm) against the broker: produce with each codec and consume, consumer groups with the classic
// protocol and with KIP-848 (ServerSideBalancer), and exactly-once with GroupTransactSession.
// Usage: franz BOOTSTRAP RUN_ID [case...]  (prints `CASE ok|fail <name> ...` per case; exit 1 on a failure)
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"chronik.test/e2e/cases"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

var (
	bootstrap string
	run       string
)

func name(s string) string { return run + "-" + s }

// baseOpts: the seed broker, and kgo's log on stderr at info level (for a failing case's details).
func baseOpts() []kgo.Opt {
	return []kgo.Opt{kgo.SeedBrokers(bootstrap), kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelInfo, nil))}
}

func client(opts ...kgo.Opt) *kgo.Client {
	cl, err := kgo.NewClient(append(baseOpts(), opts...)...)
	if err != nil {
		panic(err)
	}
	return cl
}

func ctxT() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

func createTopic(topic string, partitions int32) error {
	cl := client()
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := ctxT()
	defer cancel()
	r, err := adm.CreateTopic(ctx, partitions, 1, nil, topic)
	if err != nil {
		return err
	}
	return r.Err
}

func produce(topic string, n int, opts ...kgo.Opt) error {
	cl := client(opts...)
	defer cl.Close()
	ctx, cancel := ctxT()
	defer cancel()
	var rs []*kgo.Record
	for i := 0; i < n; i++ {
		rs = append(rs, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("v%d", i)),
			Headers: []kgo.RecordHeader{{Key: "seq", Value: []byte(strconv.Itoa(i))}}})
	}
	return cl.ProduceSync(ctx, rs...).FirstErr()
}

// readAll reads the topic from the start (no group) until it has n records or the bound passes.
func readAll(topic string, n int, opts ...kgo.Opt) ([]*kgo.Record, error) {
	cl := client(append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	defer cl.Close()
	ctx, cancel := ctxT()
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return out, fmt.Errorf("read %d of %d from %s", len(out), n, topic)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out, nil
}

func codecs(codec kgo.CompressionCodec, label string) func() error {
	return func() error {
		topic := name("franz-" + label)
		if err := createTopic(topic, 3); err != nil {
			return err
		}
		if err := produce(topic, 500, kgo.ProducerBatchCompression(codec), kgo.RequiredAcks(kgo.AllISRAcks())); err != nil {
			return err
		}
		rs, err := readAll(topic, 500)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		last := map[int32]int64{}
		for _, r := range rs {
			if string(r.Key) != "k"+string(r.Headers[0].Value) || string(r.Value) != "v"+string(r.Headers[0].Value) {
				return fmt.Errorf("record %s=%s seq %s", r.Key, r.Value, r.Headers[0].Value)
			}
			if prev, ok := last[r.Partition]; ok && r.Offset != prev+1 {
				return fmt.Errorf("offsets not dense in %d: %d after %d", r.Partition, r.Offset, prev)
			}
			last[r.Partition] = r.Offset
			seen[string(r.Value)] = true
		}
		if len(seen) != 500 || len(rs) != 500 {
			return fmt.Errorf("read %d records, %d distinct", len(rs), len(seen))
		}
		return nil
	}
}

// group runs two members of one group until every record was seen, then checks the committed offsets.
func group(label, wantType string, opts ...kgo.Opt) func() error {
	return func() error {
		topic := name("franz-group-" + label)
		g := name("franz-g-" + label)
		if err := createTopic(topic, 4); err != nil {
			return err
		}
		if err := produce(topic, 400); err != nil {
			return err
		}
		var mu sync.Mutex
		seen := map[string]bool{}
		ctx, cancel := ctxT()
		defer cancel()
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		done := make(chan struct{})
		var once sync.Once
		for m := 0; m < 2; m++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cl := client(append([]kgo.Opt{kgo.ConsumerGroup(g), kgo.ConsumeTopics(topic),
					kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit()}, opts...)...)
				defer cl.Close()
				err := cases.Poll(ctx, cl, done, func(r *kgo.Record) {
					mu.Lock()
					seen[string(r.Value)] = true
					if len(seen) == 400 {
						once.Do(func() { close(done) })
					}
					mu.Unlock()
				}, func() error {
					cctx, ccancel := ctxT()
					_ = cl.CommitUncommittedOffsets(cctx)
					ccancel()
					return nil
				})
				if err != nil {
					errs <- errors.New("bound passed before all records were consumed")
					return
				}
				cctx, ccancel := ctxT()
				defer ccancel()
				if err := cl.CommitUncommittedOffsets(cctx); err != nil {
					errs <- err
				}
				cl.LeaveGroup()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			return err
		}
		cl := client()
		defer cl.Close()
		adm := kadm.NewClient(cl)
		actx, acancel := ctxT()
		defer acancel()
		offs, err := adm.FetchOffsets(actx, g)
		if err != nil {
			return err
		}
		var total int64
		offs.Each(func(o kadm.OffsetResponse) { total += o.At })
		if total != 400 {
			return fmt.Errorf("committed offsets sum to %d, want 400", total)
		}
		listed, err := adm.ListGroups(actx)
		if err != nil {
			return err
		}
		if got := listed[g].GroupType; got != wantType {
			return fmt.Errorf("group type %q, want %q", got, wantType)
		}
		return nil
	}
}

// transact: a GroupTransactSession consumes the input and produces it doubled; read_committed sees each once.
func transact() error {
	in, out, g := name("franz-txn-in"), name("franz-txn-out"), name("franz-g-txn")
	if err := createTopic(in, 2); err != nil {
		return err
	}
	if err := createTopic(out, 2); err != nil {
		return err
	}
	if err := produce(in, 200); err != nil {
		return err
	}
	s, err := kgo.NewGroupTransactSession(append(baseOpts(), kgo.TransactionalID(name("franz-txn")),
		kgo.ConsumerGroup(g), kgo.ConsumeTopics(in), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.DefaultProduceTopic(out))...)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := ctxT()
	defer cancel()
	consumed := 0
	aborted := false
	for consumed < 200 {
		fs := s.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("consumed %d of 200", consumed)
		}
		if err := fs.Err(); err != nil {
			return err
		}
		var rs []*kgo.Record
		fs.EachRecord(func(r *kgo.Record) {
			rs = append(rs, &kgo.Record{Key: r.Key, Value: append([]byte("x2-"), r.Value...)})
		})
		if len(rs) == 0 {
			continue
		}
		if err := s.Begin(); err != nil {
			return err
		}
		if err := s.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			return err
		}
		commit := kgo.TryCommit
		if !aborted { // the first batch is aborted once: its records are consumed again
			commit = kgo.TryAbort
			aborted = true
		}
		committed, err := s.End(ctx, commit)
		if err != nil {
			return err
		}
		if committed {
			consumed += len(rs)
		}
	}
	rs, err := readAll(out, 200, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return err
	}
	vals := map[string]int{}
	for _, r := range rs {
		vals[string(r.Value)]++
	}
	if len(vals) != 200 || len(rs) != 200 {
		return fmt.Errorf("read_committed: %d records, %d distinct", len(rs), len(vals))
	}
	cl := client()
	defer cl.Close()
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, g)
	if err != nil {
		return err
	}
	var total int64
	offs.Each(func(o kadm.OffsetResponse) { total += o.At })
	if total != 200 {
		return fmt.Errorf("committed offsets sum to %d", total)
	}
	return nil
}

func main() {
	bootstrap, run = os.Args[1], os.Args[2]
	all := map[string]func() error{
		"franz.produce-consume.none":             codecs(kgo.NoCompression(), "none"),
		"franz.produce-consume.gzip":             codecs(kgo.GzipCompression(), "gzip"),
		"franz.produce-consume.snappy":           codecs(kgo.SnappyCompression(), "snappy"),
		"franz.produce-consume.lz4":              codecs(kgo.Lz4Compression(), "lz4"),
		"franz.produce-consume.zstd":             codecs(kgo.ZstdCompression(), "zstd"),
		"franz.group.classic-cooperative-sticky": group("classic", "classic"),
		"franz.group.kip848":                     group("kip848", "consumer", kgo.Balancers(kgo.RangeBalancer()), kgo.ServerSideBalancer()),
		"franz.group-transact-session":           transact,
	}
	cases.Main(all)
}
