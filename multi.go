package bodytap

// Multi returns a Sink that hands each exchange to every one of sinks, in
// the order given. Nil sinks are left out, and the sinks of a Multi
// passed to Multi join the list. With no sinks, the result discards
// every exchange.
//
// The sinks share one *Exchange: each must treat it as read-only, keep
// nothing in it past its Record call that another could change, and hand
// it to another goroutine only as read-only. A sink that needs to change
// an exchange (or keep a changed one) works on [Exchange.Clone].
//
// A panic in one sink does not keep the others from the exchange: Multi
// recovers it, goes on with the next sinks, and when all have been called
// panics again with the first panic's value, so that a [Tap] counts it in
// [Stats.SinkPanics] (once per exchange, however many sinks panicked). A
// sink that calls runtime.Goexit stops the rest.
//
// When one of sinks is a [BatchSink], so is the Multi: it hands each batch
// whole to the sinks that take batches and one exchange at a time to the
// others, and a panic counts once per batch.
func Multi(sinks ...Sink) Sink {
	var m multi
	batch := false
	for _, s := range sinks {
		switch s := s.(type) {
		case nil:
		case multi:
			m = append(m, s...)
		case multiBatch:
			m = append(m, s.multi...)
		default:
			m = append(m, s)
		}
	}
	for _, s := range m {
		if _, ok := s.(BatchSink); ok {
			batch = true
		}
	}
	if batch {
		return multiBatch{m}
	}
	return m
}

type multi []Sink

// ReusesExchanges reports whether every sink of m keeps nothing of an
// exchange (see [ReusingSink]).
func (m multi) ReusesExchanges() bool {
	for _, s := range m {
		if !reuses(s) {
			return false
		}
	}
	return true
}

func (m multi) Record(x *Exchange) {
	var first any
	for _, s := range m {
		if p := recordRecovering(s, x); p != nil && first == nil {
			first = p
		}
	}
	if first != nil {
		panic(first)
	}
}

// multiBatch is a Multi with at least one BatchSink.
type multiBatch struct{ multi }

func (m multiBatch) RecordBatch(xs []*Exchange) {
	var first any
	for _, s := range m.multi {
		if bs, ok := s.(BatchSink); ok {
			if p := recordBatchRecovering(bs, xs); p != nil && first == nil {
				first = p
			}
			continue
		}
		for _, x := range xs {
			if p := recordRecovering(s, x); p != nil && first == nil {
				first = p
			}
		}
	}
	if first != nil {
		panic(first)
	}
}

func recordBatchRecovering(s BatchSink, xs []*Exchange) (p any) {
	defer func() { p = recover() }()
	s.RecordBatch(xs)
	return nil
}

// recordRecovering calls s.Record(x) and returns what it panicked with,
// nil if it returned. (Since Go 1.21 panic(nil) panics with a
// *runtime.PanicNilError, so a panic is never mistaken for a return.)
func recordRecovering(s Sink, x *Exchange) (p any) {
	defer func() { p = recover() }()
	s.Record(x)
	return nil
}

// Filter returns a Sink that hands to s only the exchanges for which keep
// returns true, as in Multi(Filter(errorsSink, failed), everythingSink).
// keep runs in the delivery goroutine, before s, and must not change x.
// A nil keep keeps every exchange; a nil s discards them. When s is a
// [BatchSink], so is the Filter: it passes each batch on, less the
// exchanges keep refuses.
func Filter(s Sink, keep func(x *Exchange) bool) Sink {
	if s == nil {
		return multi(nil)
	}
	if keep == nil {
		return s
	}
	if bs, ok := s.(BatchSink); ok {
		return &filterBatch{filter{s: s, keep: keep}, bs}
	}
	return &filter{s: s, keep: keep}
}

type filter struct {
	s    Sink
	keep func(*Exchange) bool
}

// ReusesExchanges reports whether the filtered sink keeps nothing of an
// exchange (see [ReusingSink]); keep must keep nothing either.
func (f *filter) ReusesExchanges() bool { return reuses(f.s) }

func (f *filter) Record(x *Exchange) {
	if f.keep(x) {
		f.s.Record(x)
	}
}

// filterBatch is a Filter of a BatchSink: it passes each batch on, less
// the exchanges it does not keep.
type filterBatch struct {
	filter
	bs BatchSink
}

func (f *filterBatch) RecordBatch(xs []*Exchange) {
	kept := make([]*Exchange, 0, len(xs)) // xs is the caller's: not to be changed
	for _, x := range xs {
		if f.keep(x) {
			kept = append(kept, x)
		}
	}
	if len(kept) > 0 {
		f.bs.RecordBatch(kept)
	}
}
