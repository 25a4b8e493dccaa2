package proxy

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/jsonl"
)

// TestRedactionBeforeSink sends credentials in every usual place, both
// ways, some in a gzip body: the upstream and the client get them
// unchanged, and the exchange the sink receives holds none of them in any
// form.
func TestRedactionBeforeSink(t *testing.T) {
	const (
		querySecret    = "QUERYSECRET1qq"
		basicSecret    = "BASICSECRET2bb"
		cookieSecret   = "COOKIESECRET3cc"
		apiKeySecret   = "APIKEYSECRET4kk"
		bodySecret     = "BODYSECRET5pp"
		nestedSecret   = "NESTEDSECRET6nn"
		respCookie     = "RESPCOOKIESECRET7ss"
		respBodySecret = "RESPTOKENSECRET8tt"
	)
	secrets := []string{querySecret, basicSecret, cookieSecret, apiKeySecret, bodySecret, nestedSecret, respCookie, respBodySecret}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+basicSecret))
	reqBody := fmt.Sprintf(`{"user":"bob","password":%q,"nested":{"client_secret":%q}}`, bodySecret, nestedSecret)
	respPlain := fmt.Sprintf(`{"access_token":%q,"ok":true}`, respBodySecret)
	respGz := gzipped(t, []byte(respPlain))
	query := "access_token=" + querySecret + "&user=bob"

	forEachMode(t, func(t *testing.T, m mode) {
		ch := make(chan seen, 1)
		var rawQuery string
		up := newUpstream(t, recordingUpstream(ch, func(w http.ResponseWriter, r *http.Request) {
			rawQuery = r.URL.RawQuery
			w.Header().Set("Set-Cookie", "sid="+respCookie+"; Path=/; HttpOnly")
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(respGz)
		}), false)
		e := newEnv(t, up.URL, m, nil)
		req, _ := http.NewRequest("POST", e.url("/login?"+query), strings.NewReader(reqBody))
		req.Header.Set("Authorization", basic)
		req.Header.Set("Cookie", "session="+cookieSecret+"; theme=dark")
		req.Header.Set("X-Api-Key", apiKeySecret)
		req.Header.Set("Content-Type", "application/json")
		resp, body := e.do(t, req)

		// The wire keeps everything.
		got := <-ch
		if rawQuery != query {
			t.Errorf("upstream query: got %q, want %q", rawQuery, query)
		}
		for k, want := range map[string]string{
			"Authorization": basic,
			"Cookie":        "session=" + cookieSecret + "; theme=dark",
			"X-Api-Key":     apiKeySecret,
		} {
			if v := got.header[k]; !slices.Equal(v, []string{want}) {
				t.Errorf("upstream %s: got %q, want %q", k, v, want)
			}
		}
		if string(got.body) != reqBody {
			t.Errorf("upstream body: got %q, want %q", got.body, reqBody)
		}
		if v := resp.Header.Get("Set-Cookie"); !strings.Contains(v, respCookie) {
			t.Errorf("client Set-Cookie: got %q", v)
		}
		if !bytes.Equal(body, respGz) {
			t.Errorf("client body: not the upstream's gzip bytes")
		}

		// The record keeps nothing secret.
		x := e.col.next(t)
		hay := haystack(t, x)
		for _, s := range secrets {
			for _, form := range secretForms(s) {
				if strings.Contains(hay, form) {
					t.Errorf("the record holds secret %q as %q", s, form)
				}
			}
		}
		for _, form := range []string{basic, strings.TrimPrefix(basic, "Basic ")} {
			if strings.Contains(hay, form) {
				t.Errorf("the record holds the Basic credentials as %q", form)
			}
		}
		// And still reads like the real thing.
		if !x.Request.Body.Redacted || !x.Response.Body.Redacted || x.Response.Body.Decoded != "gzip" {
			t.Errorf("bodies: request redacted %t, response redacted %t decoded %q", x.Request.Body.Redacted, x.Response.Body.Redacted, x.Response.Body.Decoded)
		}
		if !strings.Contains(x.Request.URL.RawQuery, "user=bob") || !strings.Contains(string(x.Request.Body.Bytes), `"user":"bob"`) {
			t.Errorf("record lost what is not secret: query %q, body %q", x.Request.URL.RawQuery, x.Request.Body.Bytes)
		}
	})
}

// haystack is every string the record holds: its JSON form (the store's),
// its headers, URL, bodies and error, as text.
func haystack(tb testing.TB, x *bodytap.Exchange) string {
	tb.Helper()
	j, err := jsonl.Marshal(x)
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	b.Write(j)
	fmt.Fprintf(&b, "\n%v\n%v\n%v\n%v\n", x.Request.URL, x.Request.Header, x.Response.Header, x.Response.Trailer)
	for _, in := range x.Response.Informational {
		fmt.Fprintf(&b, "%v\n", in.Header)
	}
	b.Write(x.Request.Body.Bytes)
	b.Write(x.Response.Body.Bytes)
	if x.Err != nil {
		b.WriteString(x.Err.Error())
	}
	return b.String()
}

// secretForms lists the ways s could be written down: as is, escaped for
// URLs, in base64 (each encoding, padded or not) and in hex.
func secretForms(s string) []string {
	forms := []string{s, url.QueryEscape(s), hex.EncodeToString([]byte(s))}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		forms = append(forms, enc.EncodeToString([]byte(s)))
	}
	return forms
}
