package filter_test

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/bodytap/bodytap"
	"github.com/bodytap/bodytap/filter"
)

func ExampleParse() {
	f, err := filter.Parse(`~m POST & ~u /api !~c 2xx`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%#v\n", f.Root.(filter.And).Y)

	_, err = filter.Parse(`~m POST & ~x`)
	fmt.Println(err)
	_, err = filter.Parse(`~c abc`)
	fmt.Println(err)
	// Output:
	// filter.Not{X:filter.Status{Lo:200, Hi:299}}
	// filter: position 11: unknown operator "~x"
	// filter: position 4: ~c: invalid status "abc" (want a code like 404, a class like 5xx or 5.., or a range like 400-499)
}

func ExampleFilter_Match() {
	u, _ := url.Parse("https://shop.example.com/api/orders/17")
	x := &bodytap.Exchange{
		Duration: 420 * time.Millisecond,
		Request: bodytap.Request{
			Method: "POST",
			URL:    u,
			Host:   u.Host,
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   bodytap.Body{Bytes: []byte(`{"sku":"A-100","qty":2}`), Size: 23},
		},
		Response: bodytap.Response{
			Status: 503,
			Header: http.Header{"Retry-After": {"5"}},
		},
	}
	for _, expr := range []string{
		`~m post ~c 5xx`,
		`~path "/api/orders/*" & ~dur >250ms`,
		`~bq '"sku":"A-\d+"'`,
		`~hs "^Retry-After: \d+$"`,
		`~d example.org | ~sizeq >1k`,
	} {
		f, err := filter.Parse(expr)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%-36s %v\n", expr, f.Match(x))
	}
	// Output:
	// ~m post ~c 5xx                       true
	// ~path "/api/orders/*" & ~dur >250ms  true
	// ~bq '"sku":"A-\d+"'                  true
	// ~hs "^Retry-After: \d+$"             true
	// ~d example.org | ~sizeq >1k          false
}

func ExampleFormat() {
	f, err := filter.Parse(`example.com  ~c 404|~c 410 & !(~m GET)   ~size 1.5M`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f)
	fmt.Println(filter.Format(f.Root))
	// Output:
	// example.com  ~c 404|~c 410 & !(~m GET)   ~size 1.5M
	// ~u example.com & (~c 404 | ~c 410 & !~m GET) & ~size >=1536KiB
}
