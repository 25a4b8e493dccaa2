package decode_test

import (
	"bytes"
	"compress/gzip"
	"fmt"

	"github.com/bodytap/bodytap/decode"
)

func Example() {
	// A response body as captured from the wire: gzip-compressed.
	var wire bytes.Buffer
	zw := gzip.NewWriter(&wire)
	zw.Write([]byte(`{"greeting":"hello, bodytap"}`))
	zw.Close()

	res, err := decode.Decode("gzip", wire.Bytes(), 1<<20, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("removed %s, cut %v\n", res.Encoding, res.Cut)

	const contentType = "application/json"
	if decode.IsText(contentType, res.Bytes) {
		s, _ := decode.ToUTF8(contentType, res.Bytes)
		fmt.Println(s)
	}

	// A capture truncated at its cap (here, just before the gzip trailer):
	// told so, Decode returns what it could decode.
	prefix := wire.Bytes()[:wire.Len()-8]
	res, err = decode.Decode("gzip", prefix, 1<<20, true)
	fmt.Printf("%s (partial %v, err %v)\n", res.Bytes, res.Partial, err)

	// Not told so, the same bytes are an error, and come back untouched.
	res, err = decode.Decode("gzip", prefix, 1<<20, false)
	fmt.Printf("raw bytes kept: %v, err %v\n", bytes.Equal(res.Bytes, prefix), err)
	// Output:
	// removed gzip, cut false
	// {"greeting":"hello, bodytap"}
	// {"greeting":"hello, bodytap"} (partial true, err <nil>)
	// raw bytes kept: true, err decode gzip: unexpected EOF
}

func ExampleToUTF8() {
	s, ok := decode.ToUTF8("text/plain; charset=ISO-8859-1", []byte("caf\xe9"))
	fmt.Println(s, ok)

	// Invalid UTF-8 is not text: the caller should keep the bytes as base64.
	_, ok = decode.ToUTF8("text/plain; charset=utf-8", []byte("caf\xe9"))
	fmt.Println(ok)
	// Output:
	// café true
	// false
}
