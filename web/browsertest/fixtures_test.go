package browsertest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/web/internal/webtest"
)

// demoExchanges returns the traffic of a small web shop, oldest first:
// the exchanges the browser tests look at and the screenshots show.
func demoExchanges(t testing.TB) []webtest.Ex {
	t.Helper()
	base := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	const site = "http://shop.local:8080"
	var xs []webtest.Ex
	n := 0
	add := func(method, path string, status int, dur time.Duration) webtest.Ex {
		x := webtest.NewEx(t, method, site+path, status).At(base.Add(time.Duration(n) * 7300 * time.Millisecond))
		n++
		x.Duration = dur
		x.TimeToHeaders = dur * 2 / 3
		x.Request.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
		xs = append(xs, x)
		return x
	}
	jsonResp := func(x webtest.Ex, body string) webtest.Ex { return x.RespBody("application/json", []byte(body)) }

	add("GET", "/", 200, 8*time.Millisecond).RespBody("text/html; charset=utf-8", []byte("<!doctype html>\n<html><head><title>Shop</title><link rel=stylesheet href=/static/app.css></head>\n<body><h1>Welcome</h1><script src=/static/app.js></script></body></html>\n"))
	add("GET", "/static/app.css", 200, 900*time.Microsecond).RespBody("text/css", []byte("body { font: 16px system-ui; }\nh1 { color: #333; }\n"))
	add("GET", "/static/app.js", 200, 1100*time.Microsecond).RespBody("text/javascript", []byte("document.title = 'Shop';\n"))
	add("GET", "/img/logo.png", 200, 1500*time.Microsecond).RespBody("image/png", webtest.PNG(t))
	add("GET", "/api/products?page=1", 200, 23*time.Millisecond).RespBody("application/json", []byte(`[{"id":42,"name":"Trail shoes","price":"89.00"},{"id":43,"name":"Rain jacket","price":"129.00"}]`))
	add("GET", "/api/products/42", 200, 11*time.Millisecond).RespBody("application/json", []byte(`{"id":42,"name":"Trail shoes","price":"89.00","sizes":[40,41,42,43,44],"stock":true}`))
	cart := add("POST", "/api/cart", 201, 14*time.Millisecond).ReqBody("application/json", []byte(`{"product":42,"size":42,"qty":1}`))
	jsonResp(cart, `{"cart":"c_81f2","items":1}`)
	add("GET", "/api/cart", 200, 6*time.Millisecond).RespBody("application/json", []byte(`{"cart":"c_81f2","items":[{"product":42,"qty":1}]}`))

	order := add("POST", "/api/orders", 201, 18500*time.Microsecond).
		ReqBody("application/json", []byte(`{"cart":"c_81f2","address":{"street":"1 Main St","city":"Springfield"},"payment":"card"}`)).
		ReqHeader("Authorization", "Bearer [REDACTED]")
	order.TimeToHeaders = 4200 * time.Microsecond
	order.Route = "POST /api/orders"
	jsonResp(order, `{"id":1001,"status":"confirmed","customer":{"name":"Ann Lee","email":"ann@example.com"},"items":[{"product":42,"name":"Trail shoes","qty":1,"price":"89.00"}],"total":"89.00","paid":true,"coupon":null}`).
		RespHeader("Location", "/api/orders/1001")

	add("GET", "/api/orders/1001", 200, 9*time.Millisecond).RespBody("application/json", []byte(`{"id":1001,"status":"confirmed"}`))
	add("GET", "/api/users/me", 401, 2*time.Millisecond).RespBody("application/json", []byte(`{"error":"unauthorized"}`)).RespHeader("Www-Authenticate", `Bearer realm="shop"`)
	add("GET", "/old-path", 301, 400*time.Microsecond).RespBody("text/html", []byte(`<a href="/new-path">Moved Permanently</a>.`)).RespHeader("Location", "/new-path")

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"query":"shoes","hits":[{"id":42,"score":0.93},{"id":57,"score":0.71}],"took_ms":12}`))
	zw.Close()
	add("GET", "/api/search?q=shoes", 200, 31*time.Millisecond).RespBody("application/json", gz.Bytes()).RespHeader("Content-Encoding", "gzip")

	bad := add("POST", "/api/orders", 422, 7*time.Millisecond).ReqBody("application/json", []byte(`{"cart":"c_0000"}`))
	jsonResp(bad, `{"error":"cart is empty"}`)

	var big strings.Builder
	big.WriteString(`{"rows":[`)
	for i := range 4000 {
		if i > 0 {
			big.WriteByte(',')
		}
		fmt.Fprintf(&big, `{"row":%d,"sku":"SKU-%05d","name":"Product number %d, in stock","price":"%d.99"}`, i, i, i, i%200)
	}
	big.WriteString(`]}`)
	add("GET", "/api/export", 200, 240*time.Millisecond).RespBody("application/json", []byte(big.String()))

	bin := make([]byte, 10<<10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range bin {
		bin[i] = byte(r.UintN(256))
	}
	add("GET", "/download/report.bin", 200, 5*time.Millisecond).RespBody("application/octet-stream", bin)

	slow := add("GET", "/api/slow", 0, 2500*time.Millisecond)
	slow.Err = bodytap.ErrClientGone
	slow.TimeToHeaders = 0
	slow.Response.Header = http.Header{}
	slow.Response.Body = bodytap.Body{}

	add("GET", "/favicon.ico", 404, 300*time.Microsecond).RespBody("text/plain; charset=utf-8", []byte("404 page not found\n"))

	up := add("POST", "/api/upload", 413, 40*time.Millisecond).ReqBody("application/octet-stream", bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 1024))
	up.Request.Body.Size = 50 << 20
	up.Request.Body.Truncated = true
	jsonResp(up, `{"error":"too large"}`)

	login := add("POST", "/api/login", 200, 95*time.Millisecond).ReqBody("application/json", []byte(`{"user":"ann","password":"[REDACTED]"}`))
	login.Request.Body.Redacted = true
	jsonResp(login, `{"token":"[REDACTED]"}`).RespHeader("Set-Cookie", "session=[REDACTED]; HttpOnly")
	login.Response.Body.Redacted = true

	add("DELETE", "/api/cart/items/7", 204, 4*time.Millisecond).Response.Header = http.Header{}
	add("GET", "/health", 200, 200*time.Microsecond).RespBody("text/plain; charset=utf-8", []byte("ok\n"))
	add("GET", "/api/products?page=2", 500, 120*time.Millisecond).RespBody("application/json", []byte(`{"error":"database unavailable"}`))
	return xs
}

// demoOrder returns the IDs of xs newest first: the order of the list.
func demoOrder(xs []webtest.Ex) []string {
	var ids []string
	for _, x := range slices.Backward(xs) {
		ids = append(ids, x.ID.String())
	}
	return ids
}

// findEx returns the first exchange of xs whose path is path (query
// included when path has one).
func findEx(t testing.TB, xs []webtest.Ex, path string) webtest.Ex {
	t.Helper()
	for _, x := range xs {
		if x.Request.URL.RequestURI() == path {
			return x
		}
	}
	t.Fatalf("no exchange for %s", path)
	return webtest.Ex{}
}
