package web

import (
	"bytes"
	"strings"
)

// indentPrefix indents the start of a JSON text that was cut (a
// truncated capture), as json.Indent would the whole, up to where it
// stops. It reports false when data does not start as a JSON object or
// array, or goes wrong before the cut: such a body is shown as it is.
//
// It follows the structure only (strings, brackets, commas and colons),
// which is all indenting needs; it does not check the values.
func indentPrefix(data []byte) (string, bool) {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 || (data[0] != '{' && data[0] != '[') {
		return "", false
	}
	var b strings.Builder
	var stack []byte // the open brackets' closers
	newline := func() {
		b.WriteByte('\n')
		b.WriteString(strings.Repeat("  ", len(stack)))
	}
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch c {
		case ' ', '\t', '\r', '\n':
		case '"':
			j := i + 1
			for j < len(data) && data[j] != '"' {
				if data[j] == '\\' {
					j++
				}
				j++
			}
			b.Write(data[i:min(j+1, len(data))])
			i = j
		case '{', '[':
			if len(stack) == 0 && i > 0 {
				return "", false // a second value after the first
			}
			closer := byte('}')
			if c == '[' {
				closer = ']'
			}
			b.WriteByte(c)
			// An empty object or array stays on its line.
			k := i + 1
			for k < len(data) && strings.IndexByte(" \t\r\n", data[k]) >= 0 {
				k++
			}
			if k < len(data) && data[k] == closer {
				b.WriteByte(closer)
				i = k
				continue
			}
			stack = append(stack, closer)
			if k < len(data) {
				newline()
			}
		case '}', ']':
			if len(stack) == 0 || stack[len(stack)-1] != c {
				return "", false
			}
			stack = stack[:len(stack)-1]
			newline()
			b.WriteByte(c)
		case ',':
			if len(stack) == 0 {
				return "", false
			}
			b.WriteByte(',')
			newline()
		case ':':
			b.WriteString(": ")
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}
