package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/otlp"
	"github.com/bodytap/bodytap/stores"
)

// otlpOptions are the proxy's flags for exporting over OTLP.
type otlpOptions struct {
	url   string
	token string
	only  bool
}

func addOTLPFlags(fs *flag.FlagSet, o *otlpOptions) {
	fs.StringVar(&o.url, "otlp", "", "also export each exchange as an OTLP log record to this `URL`: http://host:4318 (OTLP/HTTP) or grpc://host:4317 (OTLP/gRPC), such as an OpenTelemetry Collector or 'bodytap collect'")
	fs.StringVar(&o.token, "otlp-token", "", "`secret` to send with --otlp as 'Authorization: Bearer TOKEN' (bodytap collect --token)")
	fs.BoolVar(&o.only, "otlp-only", false, "with --otlp, export only: do not write the store")
}

// check reports flag combinations that cannot work.
func (o *otlpOptions) check(ui string) error {
	switch {
	case o.only && o.url == "":
		return usagef("--otlp-only needs --otlp URL")
	case o.only && ui != "":
		return usagef("--ui needs the store, which --otlp-only does not write")
	case o.token != "" && o.url == "":
		return usagef("--otlp-token needs --otlp URL")
	}
	return nil
}

// open returns the OTLP sink, nil without --otlp.
func (o *otlpOptions) open(ctx context.Context) (*otlp.Sink, error) {
	if o.url == "" {
		return nil, nil
	}
	// The proxy exits within seconds of SIGTERM; what the receiver has
	// not taken by then is counted as dropped.
	cfg := otlp.Config{URL: o.url, CloseTimeout: 3 * time.Second}
	if o.token != "" {
		cfg.Headers = map[string]string{"Authorization": "Bearer " + o.token}
	}
	s, err := otlp.New(ctx, cfg)
	if err != nil {
		return nil, usagef("--otlp: %v", err)
	}
	return s, nil
}

// proxySink is where the proxy's captures go: the store, the OTLP
// exporter, or both; either may be nil.
func proxySink(st stores.Store, exp *otlp.Sink) bodytap.Sink {
	var sinks []bodytap.Sink
	if st != nil {
		sinks = append(sinks, st)
	}
	if exp != nil {
		sinks = append(sinks, exp)
	}
	return bodytap.Multi(sinks...)
}

// otlpSummary is what the proxy logs about the exporter when it stops.
func otlpSummary(exp *otlp.Sink) string {
	s := exp.Stats()
	return fmt.Sprintf("exported=%d failed=%d dropped=%d", s.Exported, s.Failed, s.Dropped)
}

// closeSinks closes those of st and exp that are not nil.
func closeSinks(st stores.Store, exp *otlp.Sink) {
	if st != nil {
		st.Close()
	}
	if exp != nil {
		exp.Close()
	}
}
