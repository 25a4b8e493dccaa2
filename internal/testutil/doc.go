// Package testutil holds the helpers that the tests of bodytap, rewrite
// and proxy share: real loopback servers over HTTP/1.1 and HTTP/2, the
// race detector's switch, a bare ResponseWriter, and the
// http.ResponseController check every middleware must pass.
//
// Only tests import it.
package testutil
