package replay

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// A Path selects values in a JSON document, in the subset of JSONPath that
// ignore rules need: $ followed by .name, ["name"], [N] and the wildcards
// .* and [*], which match any key or index. A Path also selects everything
// below what it matches: $.meta ignores $.meta.took too.
type Path []step

// step is one step of a Path: a key, an index, or a wildcard.
type step struct {
	key   string
	index int // -1 for a key
	any   bool
}

// ParsePath parses a path such as $.a.b, $.a[*].b or $["a b"][0].
func ParsePath(s string) (Path, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "$")
	if !ok {
		return nil, fmt.Errorf("replay: JSON path %q: want one starting with $", s)
	}
	var p Path
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, ".*"):
			p, rest = append(p, step{any: true, index: -1}), rest[2:]
		case rest[0] == '.':
			i := 1
			for i < len(rest) && rest[i] != '.' && rest[i] != '[' {
				i++
			}
			if i == 1 {
				return nil, fmt.Errorf("replay: JSON path %q: empty name after '.'", s)
			}
			p, rest = append(p, step{key: rest[1:i], index: -1}), rest[i:]
		case strings.HasPrefix(rest, "[*]"):
			p, rest = append(p, step{any: true, index: -1}), rest[3:]
		case strings.HasPrefix(rest, `["`):
			var key string
			dec := json.NewDecoder(strings.NewReader(rest[1:]))
			if err := dec.Decode(&key); err != nil {
				return nil, fmt.Errorf("replay: JSON path %q: bad quoted name", s)
			}
			n := 1 + int(dec.InputOffset())
			if n >= len(rest) || rest[n] != ']' {
				return nil, fmt.Errorf("replay: JSON path %q: want ] after a quoted name", s)
			}
			p, rest = append(p, step{key: key, index: -1}), rest[n+1:]
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			n, err := strconv.Atoi(rest[1:max(end, 1)])
			if end < 0 || err != nil || n < 0 {
				return nil, fmt.Errorf("replay: JSON path %q: want [N], [*] or [\"name\"]", s)
			}
			p, rest = append(p, step{index: n}), rest[end+1:]
		default:
			return nil, fmt.Errorf("replay: JSON path %q: unexpected %q", s, rest[:1])
		}
	}
	return p, nil
}

// String formats p as ParsePath reads it.
func (p Path) String() string {
	var b strings.Builder
	b.WriteByte('$')
	for _, s := range p {
		switch {
		case s.any:
			b.WriteString("[*]")
		case s.index >= 0:
			fmt.Fprintf(&b, "[%d]", s.index)
		case isName(s.key):
			b.WriteString("." + s.key)
		default:
			q, _ := json.Marshal(s.key)
			b.WriteString("[" + string(q) + "]")
		}
	}
	return b.String()
}

// isName reports whether key can be written after a dot.
func isName(key string) bool {
	if key == "" || key == "*" {
		return false
	}
	for _, r := range key {
		if !(r == '_' || r == '-' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}

// covers reports whether p selects the value at the concrete path at, or
// one of its parents.
func (p Path) covers(at Path) bool {
	if len(p) > len(at) {
		return false
	}
	for i, s := range p {
		a := at[i]
		if s.any {
			continue
		}
		if s.index != a.index || s.index < 0 && s.key != a.key {
			return false
		}
	}
	return true
}

// child returns p with one more step; it never shares memory with p, as
// sibling paths are built from the same parent.
func (p Path) child(s step) Path {
	return append(p[:len(p):len(p)], s)
}
