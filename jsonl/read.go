package jsonl

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"iter"

	"github.com/bodytap/bodytap"
)

// Read reads exchanges written by a [Writer] from r, one per line, in
// order. Blank lines are skipped. A line that does not decode
// (a line a failed write left broken, say) yields an error naming its
// line number and reading goes on with the next line; an error reading r
// is yielded last. Lines may be of any length.
func Read(r io.Reader) iter.Seq2[*bodytap.Exchange, error] {
	return func(yield func(*bodytap.Exchange, error) bool) {
		br := bufio.NewReader(r)
		for n := 1; ; n++ {
			line, err := br.ReadBytes('\n')
			if len(bytes.TrimSpace(line)) > 0 {
				x := new(bodytap.Exchange)
				if derr := decode(line, x); derr != nil {
					if !yield(nil, fmt.Errorf("jsonl: read: line %d: %w", n, derr)) {
						return
					}
				} else if !yield(x, nil) {
					return
				}
			}
			if err != nil {
				if err != io.EOF {
					yield(nil, fmt.Errorf("jsonl: read: %w", err))
				}
				return
			}
		}
	}
}
