// Package wrap makes the http.ResponseWriter that a middleware hands to
// its handler: one that implements exactly the optional interfaces of the
// writer it wraps, among the seven that httpsnoop preserves (http.Flusher,
// FlushError() error, http.CloseNotifier, http.Hijacker, io.ReaderFrom,
// http.Pusher, io.StringWriter), no more and no fewer, plus Unwrap, through
// which http.ResponseController reaches deadlines and full duplex.
//
// A type per combination (128, generated into wrap_gen.go) is what lets a
// type assertion on the wrapper answer as it would on the wrapped writer.
// Each is a named type over [State], which the middleware embeds in its
// per-request struct: [New] converts a pointer, so making the wrapper
// costs no allocation.
//
// Package wraptest has fake underlying writers for every combination, for
// the tests of the middlewares.
package wrap

//go:generate go run ./gen
