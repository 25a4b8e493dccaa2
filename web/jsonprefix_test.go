package web

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestIndentPrefix(t *testing.T) {
	whole := []byte(`{"user":{"name":"ada \"the\" first","roles":["admin","dev"],"tags":{},"list":[]},"n":42,"s":"a,b:{c}"}`)
	var want bytes.Buffer
	json.Indent(&want, whole, "", "  ")
	got, ok := indentPrefix(whole)
	if !ok || got != want.String() {
		t.Fatalf("a whole text: got\n%s\nwant as json.Indent:\n%s", got, want.String())
	}
	for _, tc := range []struct {
		name, in, want string
		ok             bool
	}{
		{"in a string", `{"user":{"name":"ad`, "{\n  \"user\": {\n    \"name\": \"ad", true},
		{"after a comma", `[1,2,`, "[\n  1,\n  2,\n  ", true},
		{"in an escape", `["a\`, "[\n  \"a\\", true},
		{"just opened", `{`, "{", true},
		{"a scalar", `"text`, "", false},
		{"not JSON", `<html>`, "", false},
		{"a bad closer", `{"a":[1}`, "", false},
		{"two values", `{} {`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := indentPrefix([]byte(tc.in))
			if got != tc.want || ok != tc.ok {
				t.Errorf("indentPrefix(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}
