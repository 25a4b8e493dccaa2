package otlp

import (
	"context"
	"errors"
	"io"
	"strings"
	"syscall"
	"time"

	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// maxUnreachable is how long an export keeps retrying a receiver that
// cannot be reached, within the batch processor's export timeout.
const maxUnreachable = time.Minute

// unreachableRetrier retries, with backoff, an export whose receiver could
// not be reached or went away before answering: the retry the OTLP/HTTP
// exporter makes for error responses (503, say) but not for a refused or
// broken connection, as while a Collector restarts. The OTLP/gRPC exporter retries those itself. While
// it retries, records wait in the batch processor's queue; past the
// Sink's bounds they are dropped and counted, never held without bound.
type unreachableRetrier struct {
	sdklog.Exporter
}

func (e unreachableRetrier) Export(ctx context.Context, records []sdklog.Record) error {
	wait := 100 * time.Millisecond
	deadline := time.Now().Add(maxUnreachable)
	for {
		err := e.Exporter.Export(ctx, records)
		if err == nil || !unreachable(err) || time.Now().Add(wait).After(deadline) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// unreachable reports whether err says the receiver could not be reached
// or went away before it answered (a Collector killed mid-request): a
// refused or reset connection, or one closed without a response. Sending
// again may deliver a record twice, if the receiver had passed it on
// before it went away; OTLP delivery is at least once, and stores keep one
// exchange per ID.
func unreachable(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "connection reset")
}
