// Package secrettest makes seeded corpora of realistic secrets, in every
// format the value detectors of internal/redact know, and the requests
// that carry them in every position a Tap redacts: for the end-to-end
// tests of the middleware and the proxy, which check that none of them
// reaches a sink.
package secrettest

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// A Secret is one generated secret.
type Secret struct {
	Kind  string // the detector that must find it
	Value string // as it appears in a message
	// Core is the part that must never be kept: Value without a scheme
	// word ("Bearer ") or PEM armour lines.
	Core string
}

const (
	alnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b64std = alnum + "+/"
)

func pick(r *rand.Rand, set string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

// mixed returns n random bytes of set with an upper-case letter, a
// lower-case letter and two digits in it, as real keys have.
func mixed(r *rand.Rand, set string, n int) string {
	b := []byte(pick(r, set, n))
	b[0], b[1] = "ABCDEFGHJK"[r.IntN(10)], "abcdefghjk"[r.IntN(10)]
	b[2], b[n-1] = byte('0'+r.IntN(10)), byte('0'+r.IntN(10))
	return string(b)
}

// card returns a Luhn-valid card number of n digits starting with prefix.
func card(r *rand.Rand, prefix string, n int) string {
	d := []byte(prefix)
	for len(d) < n-1 {
		d = append(d, byte('0'+r.IntN(10)))
	}
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if (len(d)-1-i)%2 == 0 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return string(append(d, byte('0'+(10-sum%10)%10)))
}

// Generate returns n secrets made from seed, cycling through the kinds.
func Generate(seed uint64, n int) []Secret {
	r := rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))
	var out []Secret
	for i := 0; len(out) < n; i++ {
		var s Secret
		switch i % 15 {
		case 0:
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
			p := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"sub":"%d","name":"%s","iat":%d}`, r.IntN(1e6), pick(r, alnum, 8), 1700000000+r.IntN(1e7)))
			sig := base64.RawURLEncoding.EncodeToString([]byte(pick(r, alnum, 32)))
			s = Secret{"jwt", h + "." + p + "." + sig, p + "." + sig}
		case 1:
			t := mixed(r, alnum+"-._~", 40)
			s = Secret{"http-auth", "Bearer " + t, t}
		case 2:
			t := base64.StdEncoding.EncodeToString([]byte(pick(r, alnum, 6) + ":" + pick(r, alnum, 14)))
			s = Secret{"http-auth", "Basic " + t, t}
		case 3:
			v := []string{"AKIA", "ASIA"}[r.IntN(2)] + pick(r, upper, 16)
			s = Secret{"aws", v, v}
		case 4:
			v := mixed(r, b64std, 40)
			v = v[:20] + "/" + v[21:]
			s = Secret{"aws", v, v}
		case 5:
			v := []string{"ghp_", "gho_", "ghs_"}[r.IntN(3)] + mixed(r, alnum, 36)
			if r.IntN(3) == 0 {
				v = "github_pat_" + mixed(r, alnum, 22) + "_" + mixed(r, alnum, 59)
			}
			s = Secret{"github", v, v}
		case 6:
			v := "glpat-" + mixed(r, alnum+"_-", 20)
			s = Secret{"gitlab", v, v}
		case 7:
			v := "xoxb-" + pick(r, "0123456789", 12) + "-" + pick(r, "0123456789", 13) + "-" + mixed(r, alnum, 24)
			s = Secret{"slack", v, v}
		case 8:
			v := []string{"sk_live_", "rk_live_", "sk_test_"}[r.IntN(3)] + mixed(r, alnum, 24+r.IntN(76))
			s = Secret{"stripe", v, v}
		case 9:
			v := "AIza" + mixed(r, alnum+"_-", 35)
			s = Secret{"google-api-key", v, v}
		case 10:
			v := []string{"sk-proj-", "sk-svcacct-", "sk-"}[r.IntN(3)] + mixed(r, alnum+"_-", 48+r.IntN(100))
			s = Secret{"openai", v, v}
		case 11:
			body := base64.StdEncoding.EncodeToString([]byte(pick(r, alnum, 180)))
			var lines []string
			for len(body) > 64 {
				lines, body = append(lines, body[:64]), body[64:]
			}
			lines = append(lines, body)
			label := []string{"RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"}[r.IntN(4)]
			v := "-----BEGIN " + label + "-----\n" + strings.Join(lines, "\n") + "\n-----END " + label + "-----"
			s = Secret{"private-key", v, lines[1]}
		case 12:
			v := card(r, []string{"4", "51", "55", "2221"}[r.IntN(4)], 16)
			s = Secret{"card", v, v}
		case 13:
			v := card(r, []string{"34", "37"}[r.IntN(2)], 15)
			s = Secret{"card", v, v}
		case 14:
			v := card(r, "4", 16)
			v = v[:4] + " " + v[4:8] + " " + v[8:12] + " " + v[12:]
			s = Secret{"card", v, v}
		}
		out = append(out, s)
	}
	return out
}

// Positions are where a Request puts its secret.
var Positions = []string{"header", "cookie", "query", "path", "json", "form", "multipart", "text", "xml"}

// Encodings are the content codings a Request's body may be sent in;
// "chunked" is identity sent without a length.
var Encodings = []string{"identity", "gzip", "deflate", "br", "zstd", "chunked"}

// A Request is the parts of a request that carries one secret.
type Request struct {
	Path        string
	RawQuery    string
	Header      map[string]string
	ContentType string
	Body        []byte // before any coding
}

// Place returns a request that carries s at pos.
func Place(s Secret, pos string, i int) Request {
	q := Request{Path: fmt.Sprintf("/api/v1/items/%d", i), Header: map[string]string{}}
	switch pos {
	case "header":
		q.Header["X-Debug-Context"] = "upstream said: " + s.Value
	case "cookie":
		q.Header["Cookie"] = "theme=dark; remember=" + url.QueryEscape(s.Value)
	case "query":
		q.RawQuery = "page=2&note=" + url.QueryEscape(s.Value) + "&sort=name"
	case "path":
		v := s.Value
		if strings.ContainsAny(v, " \n/") {
			v = s.Core // a path segment holds no blanks nor slashes
			if strings.Contains(v, "/") {
				v = strings.ReplaceAll(v, "/", "A")
			}
		}
		q.Path = "/api/v1/reset/" + v + "/confirm"
	case "json":
		body := fmt.Sprintf(`{"data":{"items":[{"id":%d,"meta":{"notes":[%q]}}]},"ok":true}`, i, "see "+s.Value+" here")
		if s.Kind == "card" && !strings.Contains(s.Value, " ") && i%2 == 0 {
			body = fmt.Sprintf(`{"data":{"payment":{"pan_digits":%s}}}`, s.Value)
		}
		q.ContentType, q.Body = "application/json", []byte(body)
	case "form":
		q.ContentType, q.Body = "application/x-www-form-urlencoded", []byte("name=bob&comment="+url.QueryEscape("see "+s.Value)+"&n=1")
	case "multipart":
		var b bytes.Buffer
		b.WriteString("--XyZ\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nbob\r\n")
		b.WriteString("--XyZ\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nsee " + s.Value + "\r\n--XyZ--\r\n")
		q.ContentType, q.Body = "multipart/form-data; boundary=XyZ", b.Bytes()
	case "text":
		q.ContentType, q.Body = "text/plain; charset=utf-8", []byte("log line 1\nconfig: "+s.Value+"\nlog line 3\n")
	case "xml":
		q.ContentType, q.Body = "application/xml", []byte("<?xml version=\"1.0\"?><req><user>bob</user><note>"+s.Value+"</note></req>")
	}
	return q
}

// Encode returns body in the coding enc, as Encodings names them, and the
// Content-Encoding to send it with.
func Encode(enc string, body []byte) ([]byte, string) {
	var b bytes.Buffer
	switch enc {
	case "gzip":
		w := gzip.NewWriter(&b)
		w.Write(body)
		w.Close()
		return b.Bytes(), "gzip"
	case "deflate":
		w, _ := flate.NewWriter(&b, flate.DefaultCompression)
		w.Write(body)
		w.Close()
		return b.Bytes(), "deflate"
	case "br":
		w := brotli.NewWriter(&b)
		w.Write(body)
		w.Close()
		return b.Bytes(), "br"
	case "zstd":
		w, _ := zstd.NewWriter(nil)
		defer w.Close()
		return w.EncodeAll(body, nil), "zstd"
	}
	return body, ""
}

// Send sends the i-th request of a corpus, the one that carries s, at the
// position and in the coding that i picks, to base; the handler there
// must be Echo (or reach it), and the answer must be what was sent: the
// wire is never altered.
func Send(tb testing.TB, c *http.Client, base string, s Secret, i int) {
	tb.Helper()
	pos := Positions[i%len(Positions)]
	enc := Encodings[(i/len(Positions))%len(Encodings)]
	q := Place(s, pos, i)
	body, ce := Encode(enc, q.Body)
	var rd io.Reader = bytes.NewReader(body)
	if enc == "chunked" {
		rd = io.MultiReader(rd) // no length: sent chunked
	}
	u := base + (&url.URL{Path: q.Path}).EscapedPath()
	if q.RawQuery != "" {
		u += "?" + q.RawQuery
	}
	req, err := http.NewRequest("POST", u, rd)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range q.Header {
		req.Header.Set(k, v)
	}
	if q.ContentType != "" {
		req.Header.Set("Content-Type", q.ContentType)
	}
	if ce != "" {
		req.Header.Set("Content-Encoding", ce)
	}
	// Asked for by hand, so that the transport hands back the coded bytes.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, body) {
		tb.Fatalf("secret %d (%s in %s, %s): the echo differs from what was sent", i, s.Kind, pos, enc)
	}
}

// Echo answers with the request's body, Content-Type and
// Content-Encoding, and the secret-bearing request header copied into the
// response, so that every secret passes both ways.
func Echo(w http.ResponseWriter, r *http.Request) {
	for _, k := range []string{"Content-Type", "Content-Encoding", "X-Debug-Context"} {
		if v := r.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	io.Copy(w, r.Body)
}

// Leaks returns the secrets of corpus whose core appears in out, as is or
// escaped for a URL or JSON.
func Leaks(corpus []Secret, out []byte) []string {
	var found []string
	for i, s := range corpus {
		for _, v := range []string{s.Core, url.QueryEscape(s.Core), url.PathEscape(s.Core), strings.ReplaceAll(s.Core, "/", `\/`)} {
			if bytes.Contains(out, []byte(v)) {
				found = append(found, fmt.Sprintf("#%d %s %q", i, s.Kind, s.Core))
				break
			}
		}
	}
	return found
}
