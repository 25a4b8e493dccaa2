package main

import (
	"crypto/subtle"
	"net/http"
	"os"

	"github.com/bodytap/bodytap/internal/metrics"
	"github.com/bodytap/bodytap/otlp"
	"github.com/bodytap/bodytap/pgstore"
	"github.com/bodytap/bodytap/store"
	"github.com/bodytap/bodytap/stores"
)

// metricsHandler serves fams on /metrics in the Prometheus text format.
// With a token, a scrape must carry it as "Authorization: Bearer TOKEN"
// (Prometheus: authorization.credentials in the scrape config): the
// counts reveal no capture, but the server's token guards all it serves.
func metricsHandler(token string, fams func() []metrics.Family) http.Handler {
	h := metrics.Handler(fams)
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bodytap metrics"`)
			http.Error(w, "unauthorized: send the token as 'Authorization: Bearer TOKEN'", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// withMetrics serves /metrics with m and everything else with h; a nil
// m leaves h alone.
func withMetrics(h, m http.Handler) http.Handler {
	if m == nil {
		return h
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m)
	mux.Handle("/", h)
	return mux
}

// storeFamilies are the counters of st, whose --db is path: what it
// stored, dropped, deleted and failed, its searches, and the size of a
// local store's files.
func storeFamilies(st stores.Store, path string) []metrics.Family {
	count := func(name, unit, help string, v func(s store.Stats) float64) metrics.Family {
		return metrics.Family{Name: name, Unit: unit, Help: help, Kind: metrics.Counter,
			Read: metrics.One(func() float64 { return v(st.Stats()) })}
	}
	fams := []metrics.Family{
		count("bodytap.store.exchanges.stored", "{exchange}", "Exchanges committed to the store.",
			func(s store.Stats) float64 { return float64(s.Stored) }),
		count("bodytap.store.exchanges.dropped", "{exchange}", "Exchanges given to the store after it closed.",
			func(s store.Stats) float64 { return float64(s.Dropped) }),
		count("bodytap.store.exchanges.deleted", "{exchange}", "Exchanges deleted by retention (--keep-for, --keep-count, --keep-bytes).",
			func(s store.Stats) float64 { return float64(s.Deleted) }),
		count("bodytap.store.errors", "{error}", "Failed batches, and exchanges that could not be encoded.",
			func(s store.Stats) float64 { return float64(s.Errors) }),
		count("bodytap.store.searches", "{search}", "Lists, searches and counts of the store (the viewer's, for the most part).",
			func(s store.Stats) float64 { return float64(s.Searches) }),
		count("bodytap.store.search.time", "s", "Time the store's searches took in all.",
			func(s store.Stats) float64 { return s.SearchTime.Seconds() }),
	}
	if sp, ok := st.(interface{ SpoolStats() pgstore.SpoolStats }); ok {
		fams = append(fams, spoolFamilies(sp.SpoolStats)...)
	}
	if isPostgres(path) {
		return fams
	}
	return append(fams, metrics.Family{Name: "bodytap.store.size", Unit: "By", Kind: metrics.Gauge,
		Help: "Bytes of the store's files on disk: the database, its write-ahead log and the segments of its log.",
		Read: metrics.One(func() float64 { return float64(fileSize(path) + fileSize(path+"-wal") + dirSize(path+"-log")) })})
}

// spoolFamilies are the counts of a PostgreSQL store's spool (--spool):
// what it wrote to disk while the database was away, wrote back, and
// dropped, and what it holds now.
func spoolFamilies(stats func() pgstore.SpoolStats) []metrics.Family {
	count := func(name, help string, v func(s pgstore.SpoolStats) int64) metrics.Family {
		return metrics.Family{Name: name, Unit: "{exchange}", Help: help, Kind: metrics.Counter,
			Read: metrics.One(func() float64 { return float64(v(stats())) })}
	}
	gauge := func(name, unit, help string, v func(s pgstore.SpoolStats) float64) metrics.Family {
		return metrics.Family{Name: name, Unit: unit, Help: help, Kind: metrics.Gauge,
			Read: metrics.One(func() float64 { return v(stats()) })}
	}
	return []metrics.Family{
		count("bodytap.store.spool.exchanges.spooled", "Exchanges written to the spool while the database was away.",
			func(s pgstore.SpoolStats) int64 { return s.Spooled }),
		count("bodytap.store.spool.exchanges.replayed", "Exchanges written from the spool to the database once it was back.",
			func(s pgstore.SpoolStats) int64 { return s.Replayed }),
		count("bodytap.store.spool.exchanges.dropped", "Exchanges dropped: the spool was full (--spool-max) or could not be written.",
			func(s pgstore.SpoolStats) int64 { return s.Dropped }),
		gauge("bodytap.store.spool.size", "By", "Bytes of the batches in the spool directory, of every process sharing it.",
			func(s pgstore.SpoolStats) float64 { return float64(s.Bytes) }),
		gauge("bodytap.store.spool.away", "1", "1 while the database is away (the last write failed for want of it), else 0.",
			func(s pgstore.SpoolStats) float64 {
				if s.Away {
					return 1
				}
				return 0
			}),
	}
}

// dirSize returns the bytes of the files in dir.
func dirSize(dir string) int64 {
	ents, _ := os.ReadDir(dir)
	var n int64
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// exportFamilies are the counters of the proxy's OTLP exporter.
func exportFamilies(s *otlp.Sink) []metrics.Family {
	count := func(name, help string, v func(s otlp.Stats) int64) metrics.Family {
		return metrics.Family{Name: name, Unit: "{record}", Help: help, Kind: metrics.Counter,
			Read: metrics.One(func() float64 { return float64(v(s.Stats())) })}
	}
	return []metrics.Family{
		count("bodytap.otlp.records.exported", "Log records the OTLP receiver accepted.",
			func(s otlp.Stats) int64 { return s.Exported }),
		count("bodytap.otlp.records.failed", "Log records whose export failed after the exporter's retries.",
			func(s otlp.Stats) int64 { return s.Failed }),
		count("bodytap.otlp.records.dropped", "Log records never sent: the export queue was full, or the exporter closed.",
			func(s otlp.Stats) int64 { return s.Dropped }),
		{Name: "bodytap.otlp.queue.records", Unit: "{record}", Kind: metrics.Gauge,
			Help: "Log records waiting to be exported, or being exported.",
			Read: metrics.One(func() float64 { return float64(s.Stats().Queued) })},
		{Name: "bodytap.otlp.queue.size", Unit: "By", Kind: metrics.Gauge,
			Help: "Bytes of the log records waiting to be exported.",
			Read: metrics.One(func() float64 { return float64(s.Stats().Bytes) })},
	}
}

// receiverFamilies are the counters of collect's OTLP receiver.
func receiverFamilies(rv *otlp.Receiver) []metrics.Family {
	count := func(name, unit, help string, v func(s otlp.ReceiverStats) int64) metrics.Family {
		return metrics.Family{Name: name, Unit: unit, Help: help, Kind: metrics.Counter,
			Read: metrics.One(func() float64 { return float64(v(rv.Stats())) })}
	}
	return []metrics.Family{
		count("bodytap.collect.requests", "{request}", "OTLP export requests received.",
			func(s otlp.ReceiverStats) int64 { return s.Requests }),
		count("bodytap.collect.requests.refused", "{request}", "Export requests refused whole: malformed, too large or unauthorized.",
			func(s otlp.ReceiverStats) int64 { return s.Failed }),
		count("bodytap.collect.exchanges", "{exchange}", "Exchanges received and handed to the store.",
			func(s otlp.ReceiverStats) int64 { return s.Exchanges }),
		count("bodytap.collect.records.ignored", "{record}", "Log records of other producers than bodytap.",
			func(s otlp.ReceiverStats) int64 { return s.Ignored }),
		count("bodytap.collect.records.rejected", "{record}", "bodytap records that could not be decoded.",
			func(s otlp.ReceiverStats) int64 { return s.Rejected }),
	}
}

// joinFamilies concatenates family lists.
func joinFamilies(lists ...[]metrics.Family) []metrics.Family {
	var out []metrics.Family
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
