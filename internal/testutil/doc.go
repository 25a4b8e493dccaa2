// Package testutil holds the helpers that the tests of bodytap and its
// packages share: real loopback servers over HTTP/1.1 and HTTP/2, the
// race detector's switch, a bare ResponseWriter, the
// http.ResponseController check every middleware must pass, sample
// bodies (text, random bytes, gzip, multipart forms, gzip bombs), and the
// bytes a call allocates.
//
// Only tests import it.
package testutil
