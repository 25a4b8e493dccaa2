// Package payload makes the JSON body bodytap's benchmarks post and
// answer, so that the core benchmark (module bench) and the redaction
// benchmarks measure the same shape: an array of small records, a key or
// a string every few bytes, and a padding string, with nothing to hide.
package payload

import (
	"bytes"
	"fmt"
)

// Items returns a JSON document of exactly n bytes (n ≥ 21): as many
// records {"id":…,"name":…,"price":…,"tags":[…]} as fit, then a padding
// string. seed varies the values, not the shape.
func Items(n, seed int) []byte {
	const head, tail = `{"items":[`, `],"pad":""}`
	var b bytes.Buffer
	b.Grow(n)
	b.WriteString(head)
	for i := 0; ; i++ {
		item := fmt.Sprintf(`{"id":%d,"name":"item-%05d","price":%d.%02d,"tags":["a","b%d"]}`,
			i, i+seed*100000, 10+i%90, (i*7+seed)%100, seed)
		sep := 0
		if i > 0 {
			sep = 1
		}
		if b.Len()+sep+len(item)+len(tail) > n {
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(item)
	}
	b.WriteString(`],"pad":"`)
	for b.Len() < n-2 {
		b.WriteByte('x')
	}
	b.WriteString(`"}`)
	if b.Len() != n {
		panic(fmt.Sprintf("payload: no JSON document of %d bytes", n))
	}
	return b.Bytes()
}
