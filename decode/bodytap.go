package decode

import "github.com/bodytap/bodytap"

// Func is [Decode] in the shape of a [bodytap.DecodeFunc]: set it as
// bodytap.Config.Decode so that a Tap decodes (and can redact) br and zstd
// bodies as well as gzip and deflate, which it decodes by itself:
//
//	tap := bodytap.New(bodytap.Config{Sink: sink, Decode: decode.Func})
//
// It returns the decoded bytes, at most limit of them, and the codings
// removed. On error it returns no bytes: the Tap then withholds the copy
// when redaction is on, and keeps the bytes as captured when it is off.
func Func(contentEncoding string, body []byte, limit int64, truncated bool) ([]byte, string, error) {
	res, err := Decode(contentEncoding, body, limit, truncated)
	if err != nil {
		return nil, "", err
	}
	return res.Bytes, res.Encoding, nil
}

var _ bodytap.DecodeFunc = Func
