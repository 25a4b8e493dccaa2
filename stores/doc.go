// Package stores opens either of bodytap's stores behind one interface,
// [Store]: the local store of package store (one SQLite file on one
// machine) or the PostgreSQL store of package pgstore (one database that
// a fleet of proxies and collectors share). A Store is a
// [bodytap.BatchSink] to capture into and answers the queries that the
// CLI and the viewer make, so that a program that takes a --db setting,
// as bodytap's own commands do, works with either:
//
//	st, err := stores.Open(ctx, dsn, store.Options{MaxAge: 7 * 24 * time.Hour})
//	if err != nil { … }
//	defer st.Close()
//	tap := bodytap.New(bodytap.Config{Sink: st})
//	defer tap.Close() // before st.Close, so that its queue is written
//
// [Open] chooses by the string: a postgres:// or postgresql:// URL opens
// a PostgreSQL store, anything else is a file path. A connection URL may
// hold a password: show it with [Name], which masks it.
//
// # What differs
//
// Both stores have the same semantics for what the interface offers:
// the same filter language with the same results (package pgstore's
// tests hold them to it on random exchanges), lists newest first paged
// by keyset, Subscribe's live tail (across processes for both: the
// local store follows a file that another process writes), Import in one
// transaction, and retention by age, count and bytes. They differ in
// what they are: Options.NoFullText is the local store's only; MaxBytes
// bounds the file and its write-ahead log of the local store, the total
// relation size of the tables' day partitions of PostgreSQL; and
// retention runs in the transaction of each batch on the local store, at
// most once a minute on PostgreSQL (see pgstore.Store.Prune), which may
// exceed a bound by what a minute brings meanwhile.
//
// The concrete types (*store.Store, *pgstore.Store) have more: a
// program that needs one of them opens it with its own package.
package stores
