package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestShowIDPrefix(t *testing.T) {
	db := filepath.Join(t.TempDir(), "prefix.db")
	importExchanges(t, db,
		exchange(t, "01JD5Z0000AAAAAAAAAAAAAAAA", "http://api.example.com/a", []byte("a")),
		exchange(t, "01JD5Z0000AAAAAAAAAAAAAAAB", "http://api.example.com/b", []byte("b")),
		exchange(t, "01JD5Z0000BBBBBBBBBBBBBBBB", "http://api.example.com/c", []byte("c")))
	for _, tc := range []struct {
		arg  string
		code int
		want string // in stdout if code is 0, else in stderr
	}{
		{"01JD5Z0000AAAAAAAAAAAAAAAB", 0, "api.example.com/b"},
		{"01JD5Z0000B", 0, "api.example.com/c"},
		{"01jd5z0000b", 0, "api.example.com/c"},
		{"01JD5Z0000AAAAAAAAAAAAAAAA", 0, "api.example.com/a"},
		{"01JD5Z0000A", 2, "01JD5Z0000A is ambiguous: 2 exchange IDs start with it, such as 01JD5Z0000AAAAAAAAAAAAAAAB and 01JD5Z0000AAAAAAAAAAAAAAAA"},
		{"01", 2, "ambiguous: 3 exchange IDs"},
		{"01JD5Z0000C", 1, "no exchange ID starts with 01JD5Z0000C"},
		{"01JD5Z0000CCCCCCCCCCCCCCCC", 1, "no exchange 01JD5Z0000CCCCCCCCCCCCCCCC"},
		{"8", 2, `"8": not an exchange ID or the start of one`},
		{"01JD5Z0000U", 2, "not an exchange ID"},
	} {
		r := bodytapCmd(t, nil, "show", "--db", db, tc.arg)
		got := r.stdout
		if tc.code != 0 {
			got = r.stderr
		}
		if r.code != tc.code || !strings.Contains(got, tc.want) {
			t.Errorf("show %s: exit %d\n%s%s\nwant exit %d and %q", tc.arg, r.code, r.stdout, r.stderr, tc.code, tc.want)
		}
	}
}

func TestShowBinaryBody(t *testing.T) {
	db := filepath.Join(t.TempDir(), "bin.db")
	const id = "01JD5Z0000AAAAAAAAAAAAAAAA"
	importExchanges(t, db, exchange(t, id, "http://api.example.com/bin", binaryBody))
	hint := "... 2488 more bytes; all 3000 as captured: bodytap show " + id + " --body response --raw > FILE"
	for _, args := range [][]string{{}, {"--body", "response"}} {
		out := ok(t, append([]string{"show", "--db", db, id}, args...)...)
		if n := strings.Count(out, "|\n"); n != 512/16 {
			t.Errorf("show %s: %d lines of hex, want %d", args, n, 512/16)
		}
		if !strings.Contains(out, "000001f0  ") || strings.Contains(out, "00000200  ") || !strings.Contains(out, hint) {
			t.Errorf("show %s: want the first 512 bytes and %q:\n%s", args, hint, out)
		}
	}
	if raw := ok(t, "show", "--db", db, id[:12], "--body", "response", "--raw"); raw != string(binaryBody) {
		t.Errorf("show --raw by a prefix: %d bytes, want the %d captured", len(raw), len(binaryBody))
	}
}
