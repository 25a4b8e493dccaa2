package replay

import "testing"

func TestParsePath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"$", "$"},
		{"$.a.b", "$.a.b"},
		{"$.a[*].b", "$.a[*].b"},
		{"$.a.*", "$.a[*]"},
		{`$["a b"][2]`, `$["a b"][2]`},
		{`$["x"].y`, "$.x.y"},
	} {
		p, err := ParsePath(tc.in)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tc.in, err)
			continue
		}
		if got := p.String(); got != tc.want {
			t.Errorf("ParsePath(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "a.b", "$.", "$[x]", "$[-1]", `$["a"`, "$a"} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q) succeeded, want an error", bad)
		}
	}
}

func TestPathCovers(t *testing.T) {
	for _, tc := range []struct {
		rule, at string
		want     bool
	}{
		{"$.created_at", "$.created_at", true},
		{"$.meta", "$.meta.took", true},
		{"$.a[*].b", "$.a[3].b", true},
		{"$.a[*].b", "$.a[3].c", false},
		{"$.a[1]", "$.a[2]", false},
		{"$.a.b", "$.a", false},
		{"$.*", "$.x", true},
	} {
		rule, err1 := ParsePath(tc.rule)
		at, err2 := ParsePath(tc.at)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if got := rule.covers(at); got != tc.want {
			t.Errorf("%s covers %s = %v, want %v", tc.rule, tc.at, got, tc.want)
		}
	}
}
