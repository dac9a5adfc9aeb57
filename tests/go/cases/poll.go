package cases

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Poll is a franz-go group member's consume loop: it polls cl for up to 200 ms at a time (within ctx), hands each
// record to each, then calls after (a commit, say); until stop is closed (nil), ctx ends (ctx.Err(); the records of
// that last poll are not handed on) or after fails (its error).
func Poll(ctx context.Context, cl *kgo.Client, stop <-chan struct{}, each func(*kgo.Record), after func() error) error {
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		fs := cl.PollFetches(pctx)
		pcancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		fs.EachRecord(each)
		if err := after(); err != nil {
			return err
		}
	}
}
