package web

import (
	"context"
	"iter"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
	"github.com/bodytap/bodytap/store"
)

// errStore is a source whose every query fails.
type errStore struct{ err error }

func (s errStore) List(context.Context, store.Query) ([]store.Summary, error) { return nil, s.err }
func (s errStore) ListPage(context.Context, store.Query) ([]store.Summary, bodytap.ID, error) {
	return nil, bodytap.ID{}, s.err
}
func (s errStore) Count(context.Context, store.Query) (int64, error) { return 0, s.err }
func (s errStore) Get(context.Context, bodytap.ID) (*bodytap.Exchange, error) {
	return nil, s.err
}
func (s errStore) Scan(context.Context, store.Query) iter.Seq2[*bodytap.Exchange, error] {
	return func(yield func(*bodytap.Exchange, error) bool) { yield(nil, s.err) }
}
func (s errStore) Subscribe(context.Context, *filter.Filter) <-chan store.Summary {
	ch := make(chan store.Summary)
	close(ch)
	return ch
}
