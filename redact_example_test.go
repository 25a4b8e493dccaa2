package bodytap_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"

	"github.com/bodytap/bodytap"
)

// By default, credentials never reach the sink: header values, cookie
// values (names and attributes stay), query parameters and JSON fields,
// while the handler and the client see the real ones.
func ExampleRedaction() {
	tap := bodytap.New(bodytap.Config{
		Sink: bodytap.SinkFunc(func(x *bodytap.Exchange) {
			fmt.Println("Authorization:", x.Request.Header.Get("Authorization"))
			fmt.Println("query:", x.Request.URL.RawQuery)
			fmt.Println("request body:", string(x.Request.Body.Bytes))
			fmt.Println("Set-Cookie:", x.Response.Header.Get("Set-Cookie"))
			fmt.Println("response body:", string(x.Response.Body.Bytes))
		}),
	})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "abc123", Path: "/", HttpOnly: true})
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"tok-123","expires_in":3600}`)
	}))

	req := httptest.NewRequest("POST", "/login?api_key=k-1&page=2", strings.NewReader(`{"user":"bob","password":"hunter2"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer secret-bearer")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println("client got:", rec.Body.String())

	tap.Close() // deliver what is queued
	// Output:
	// client got: {"access_token":"tok-123","expires_in":3600}
	// Authorization: [REDACTED]
	// query: api_key=[REDACTED]&page=2
	// request body: {"user":"bob","password":"[REDACTED]"}
	// Set-Cookie: sid=[REDACTED]; Path=/; HttpOnly
	// response body: {"access_token":"[REDACTED]","expires_in":3600}
}

// Fields and JSONPaths add to what is hidden: a name hidden wherever it
// appears, and a value hidden at one place in JSON bodies.
func ExampleRedaction_fields() {
	tap := bodytap.New(bodytap.Config{
		Redact: bodytap.Redaction{
			Fields:    []string{"email"},
			JSONPaths: []string{"items[*].iban"},
		},
		Sink: bodytap.SinkFunc(func(x *bodytap.Exchange) {
			fmt.Println(string(x.Request.Body.Bytes))
		}),
	})
	h := tap.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	req := httptest.NewRequest("POST", "/orders", strings.NewReader(
		`{"email": "bob@example.com", "name": "Bob", "items": [{"iban": "DE89370400440532013000", "amount": 10}]}`))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(httptest.NewRecorder(), req)
	tap.Close()
	// Output:
	// {"email": "[REDACTED]", "name": "Bob", "items": [{"iban": "[REDACTED]", "amount": 10}]}
}

// Func hides what names cannot say, here a token carried in the path.
func ExampleRedaction_func() {
	resetToken := regexp.MustCompile(`^/reset/[^/]+`)
	tap := bodytap.New(bodytap.Config{
		Redact: bodytap.Redaction{
			Func: func(x *bodytap.Exchange) {
				// Request.URL is the exchange's own copy: changing it is fine.
				u := x.Request.URL
				u.Path = resetToken.ReplaceAllString(u.Path, "/reset/"+bodytap.DefaultReplacement)
				u.RawPath = ""
			},
		},
		Sink: bodytap.SinkFunc(func(x *bodytap.Exchange) {
			fmt.Println(x.Request.URL.Path)
		}),
	})
	h := tap.Handler(http.NotFoundHandler())
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/reset/6f1c2a9e", nil))
	tap.Close()
	// Output:
	// /reset/[REDACTED]
}
