package relit

import (
	"regexp"
	"testing"
)

func TestOfAndIn(t *testing.T) {
	tests := []struct {
		re   string
		body string
		in   bool
	}{
		{"(?i)zebra", "a ZeBrA here", true},
		{"(?i)zebra", "a zebr", false},
		{"Zebra", "zebra", false},
		{"Zebra", "-Zebra-", true},
		{"(?i)foo.*bar", "FOO then BAR", true},
		{"(?i)foo.*bar", "FOO alone", false},
		{"(?i)task", "", true}, // k folds to the Kelvin sign: no literal
		{"a|b", "", true},
	}
	for _, tt := range tests {
		if got := In([]byte(tt.body), Of(regexp.MustCompile(tt.re))); got != tt.in {
			t.Errorf("In(%q, Of(%q)) = %v, want %v", tt.body, tt.re, got, tt.in)
		}
	}
}

func TestContainsFold(t *testing.T) {
	tests := []struct {
		s, sub string
		want   bool
	}{
		{"Content-Type: TEXT/CSS", "text/css", true},
		{"text/cs", "text/css", false},
		{"", "", true},
		{"abc", "", true},
		{"ab", "abc", false},
		{"xxABCxx", "abc", true},
		{"ab\x00c", "ab", true},
	}
	for _, tt := range tests {
		if got := ContainsFold(tt.s, tt.sub); got != tt.want {
			t.Errorf("ContainsFold(%q, %q) = %v, want %v", tt.s, tt.sub, got, tt.want)
		}
		if got := ContainsFold([]byte(tt.s), tt.sub); got != tt.want {
			t.Errorf("ContainsFold([]byte(%q), %q) = %v, want %v", tt.s, tt.sub, got, tt.want)
		}
	}
}
