package decode

import "testing"

// TestIsText checks only that IsText delegates to internal/media, whose own
// tests hold the full table of types and bodies.
func TestIsText(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		want        bool
	}{
		{"declared text", "text/plain", "hi", true},
		{"declared binary", "image/png", "hi", false},
		{"sniffed binary", "", "\x00\x01\x02\x03", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsText(tt.contentType, []byte(tt.body)); got != tt.want {
				t.Errorf("IsText(%q, %q): got %v, want %v", tt.contentType, tt.body, got, tt.want)
			}
		})
	}
}

func TestToUTF8(t *testing.T) {
	testUTF8(t, "ToUTF8", ToUTF8, []utf8Test{
		{"utf-8", "text/plain; charset=utf-8", "héllo 日本", "héllo 日本", true},
		{"no charset", "text/plain", "héllo", "héllo", true},
		{"no content type", "", "plain", "plain", true},
		{"empty body", "text/plain", "", "", true},
		{"invalid utf-8", "text/plain; charset=utf-8", "caf\xe9", "", false},
		{"invalid utf-8 no charset", "application/json", "{\xff}", "", false},
		{"utf-8 surrogate", "text/plain", "\xed\xa0\x80", "", false},
		{"utf-8 cut at end", "text/plain", "5 \xe2\x82", "", false},
		{"latin1 as utf-8", "text/plain", "caf\xe9", "", false},
		{"utf-8 bom", "text/plain", "\xef\xbb\xbfhi", "hi", true},
		{"latin1", "text/plain; charset=latin1", "caf\xe9", "café", true},
		{"iso-8859-1 quoted upper", `text/html; charset="ISO-8859-1"`, "caf\xe9", "café", true},
		{"iso-8859-1 is windows-1252", "text/plain; charset=iso-8859-1", "\x80", "€", true},
		{"windows-1252", "text/plain; charset=windows-1252", "\x93quoted\x94", "“quoted”", true},
		{"charset among params", "text/plain; format=flowed; CharSet=windows-1252", "\xe9", "é", true},
		{"iso-8859-15", "text/plain; charset=iso-8859-15", "\xa4", "€", true},
		{"koi8-r", "text/plain; charset=koi8-r", "\xd0\xd2\xc9\xd7\xc5\xd4", "привет", true},
		{"shift_jis", "text/plain; charset=shift_jis", "\x93\xfa\x96\x7b", "日本", true},
		{"shift_jis invalid", "text/plain; charset=shift_jis", "\x93\xfa\x96", "", false},
		{"euc-kr", "text/plain; charset=euc-kr", "\xc7\xd1", "한", true},
		{"gb18030 replacement char", "text/plain; charset=gb18030", "\x84\x31\xa4\x37", "\ufffd", true},
		{"gb18030 invalid", "text/plain; charset=gb18030", "\x81", "", false},
		{"replacement encoding", "text/plain; charset=iso-2022-kr", "abc", "", false},
		{"utf-16le bom", "text/plain", "\xff\xfeh\x00\xe9\x00", "hé", true},
		{"utf-16be bom", "text/plain", "\xfe\xff\x00h\x00\xe9", "hé", true},
		{"bom beats charset", "text/plain; charset=iso-8859-1", "\xfe\xff\x00h\x00i", "hi", true},
		{"utf-16le declared", "text/plain; charset=utf-16le", "h\x00i\x00", "hi", true},
		{"utf-16be declared", "text/plain; charset=UTF-16BE", "\x00h\x00i", "hi", true},
		{"utf-16 declared is le", "text/plain; charset=utf-16", "\x3d\xd8\x00\xde", "😀", true},
		{"utf-16 declared plainly be", "text/plain; charset=utf-16", "\x00h\x00i", "hi", true},
		{"utf-16 surrogate pair", "text/plain; charset=utf-16be", "\xd8\x3d\xde\x00", "😀", true},
		{"utf-16 lone low surrogate", "text/plain; charset=utf-16be", "\xde\x00\x00a", "", false},
		{"utf-16 unpaired high surrogate", "text/plain; charset=utf-16be", "\xd8\x3d\x00a", "", false},
		{"utf-16 cut pair at end", "text/plain; charset=utf-16be", "\x00a\xd8\x3d", "", false},
		{"utf-16 odd length", "text/plain; charset=utf-16le", "a\x00b", "", false},
		{"utf-16le sniffed", "application/json", "{\x00}\x00", "{}", true},
		{"utf-16be sniffed", "", "\x00{\x00}", "{}", true},
		{"unknown charset valid", "text/plain; charset=x-nonsense", "hi", "hi", true},
		{"unknown charset invalid", "text/plain; charset=x-nonsense", "\xff", "", false},
	})
}

// TestToUTF8Prefix checks that only a character cut off at the very end is
// forgiven in a body known to be a prefix.
func TestToUTF8Prefix(t *testing.T) {
	testUTF8(t, "ToUTF8Prefix", ToUTF8Prefix, []utf8Test{
		{"whole", "text/plain", "héllo", "héllo", true},
		{"utf-8 cut after lead byte", "text/plain", "caf\xc3", "caf", true},
		{"utf-8 cut in 3 bytes", "text/plain", "5 \xe2\x82", "5 ", true},
		{"utf-8 cut in 4 bytes", "text/plain", "a\xf0\x9f\x98", "a", true},
		{"utf-8 cut not at end", "text/plain", "5 \xe2\x82 euros", "", false},
		{"utf-8 invalid at end", "text/plain", "abc\xff", "", false},
		{"utf-8 surrogate prefix at end", "text/plain", "abc\xed\xa0", "", false},
		{"utf-8 cut after bom", "text/plain", "\xef\xbb\xbf\xc3", "", true},
		{"utf-16 odd byte", "text/plain; charset=utf-16le", "a\x00b", "a", true},
		{"utf-16 cut pair", "text/plain; charset=utf-16be", "\x00a\xd8\x3d", "a", true},
		{"utf-16 cut pair and odd byte", "text/plain; charset=utf-16be", "\x00a\xd8\x3d\xde", "a", true},
		{"utf-16 unpaired inside", "text/plain; charset=utf-16be", "\xd8\x3d\x00a", "", false},
		{"utf-16 bom cut", "", "\xff\xfeh\x00i", "h", true},
		{"shift_jis cut", "text/plain; charset=shift_jis", "\x93\xfa\x96", "日", true},
		{"gb18030 cut", "text/plain; charset=gb18030", "a\x84\x31\xa4", "a", true},
		{"latin1", "text/plain; charset=latin1", "caf\xe9", "café", true},
	})
}

type utf8Test struct {
	name        string
	contentType string
	body        string
	want        string
	ok          bool
}

// testUTF8 runs the cases through convert, ToUTF8 or ToUTF8Prefix.
func testUTF8(t *testing.T, name string, convert func(string, []byte) (string, bool), tests []utf8Test) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := convert(tt.contentType, []byte(tt.body))
			if got != tt.want || ok != tt.ok {
				t.Errorf("%s(%q, %q): got %q, %v, want %q, %v", name, tt.contentType, tt.body, got, ok, tt.want, tt.ok)
			}
		})
	}
}
