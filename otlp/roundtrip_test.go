package otlp_test

import (
	"math/rand/v2"
	"testing"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/internal/exchangetest"
	"github.com/bodytap/bodytap/otlp"
)

// TestRoundTrip sends exchanges through the SDK and a real exporter to a
// Receiver over loopback, by each transport, and checks that every field
// comes back.
func TestRoundTrip(t *testing.T) {
	rv := startReceiver(t, "")
	transports := []struct {
		name string
		url  func() string
	}{
		{"http", func() string { return rv.httpURL }},
		{"grpc", func() string { return rv.grpcURL }},
	}
	for i, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(i), 18))
			want := []*bodytap.Exchange{full(t)}
			want[0].ID[15] = byte(i)
			for range 400 {
				want = append(want, exchangetest.Random(r))
			}
			s := newSink(t, otlp.Config{URL: tr.url(), MaxQueue: 1 << 20, MaxQueueBytes: 1 << 30})
			s.RecordBatch(want)
			flush(t, s)
			if st := s.Stats(); st.Exported != int64(len(want)) || st.Dropped+st.Failed != 0 {
				t.Fatalf("sink stats %+v, want %d exported", st, len(want))
			}
			got := map[bodytap.ID]*bodytap.Exchange{}
			for _, x := range rv.sink.all() {
				got[x.ID] = x
			}
			for _, w := range want {
				g, ok := got[w.ID]
				if !ok {
					t.Errorf("exchange %s not received", w.ID)
					continue
				}
				same(t, g, w)
			}
		})
	}
	if st := rv.Stats(); st.Rejected != 0 || st.Ignored != 0 || st.Failed != 0 {
		t.Errorf("receiver stats %+v", st)
	}
}
