package redact

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The tests in this file hold the redaction code to the reference in
// redact_ref_test.go (the code as it was before it was made fast): on
// many inputs, valid and not, the outputs must be the same, byte for byte.

// diffConfigs are the redaction configurations compared.
var diffConfigs = []Options{
	{},
	{Fields: []string{"email", "First_Name", "x", "ÉTÉ", "a\"b"}},
	{JSONPaths: []string{"user.email", "items[*].card", "$..iban", "[1].x", `$["odd.key"]`, "list[1]", "m.*.v", "$..note", "data[0].attributes"}},
	{Replacement: "<hidden>"},
	{Replacement: "a\"b\\c\n\t\x01\u2028é\xff"},
	{Replacement: "&x=1 +%"},
}

// diffSeeds are hand-written inputs for the JSON comparisons: the cases of
// the JSON tests and fuzz seeds, and the corners of the scanner.
var diffSeeds = []string{
	``, ` `, `{`, `[`, `"`, `}`, `]`, `:`, `,`, `\`, "\x1e", "\xEF\xBB\xBF", "\xEF\xBB",
	`{"user":"bob","password":"hunter2"}`,
	`{"token":"s","secret":12.5e3,"apikey":true,"passwd":null,"credential":{"a":[1,{"b":"}"}]},"ssn":[1,"]",[]],"ok":"x"}`,
	`{"a":{"b":{"client_secret":"s","c":1}},"d":2}`,
	`[{"token":"t1"},{"x":[{"access_token":"t2"}]},3,"password"]`,
	`{"tokens":["a","b"],"n":[1]}`,
	`{"token":{},"a":{},"b":[],"secret":[]}`,
	"{\n  \"id\" : 1.50,\n\t\"password\"\t:\t\"x\\\"y\" ,\r\n  \"list\": [ 1 , 2 ],\n  \"é\": \"\\u00e9\"\n}\n",
	`{"pass\u0077ord":"x","a\"b":1}`,
	`{"pass\u0077ord":1,"a":{"api-key":[true,false,null]},"n":-1.5e+3}`,
	`{"pass\u00":1}`, `{"pass\x":1}`, `{"a\\":{"token":1}}`, `{"\\\\\"token":1}`, `{"tok\"en":1,"token\\":2}`,
	`{"note":"\"password\": \"x\"","k":"token"}`,
	"{\"token\":1}\n{\"a\":2}\n{\"secret\":\"s\"}\n",
	"\x1e{\"token\":1}\n\x1e{\"a\":2}\n",
	"\xEF\xBB\xBF{\"token\":1}",
	`{"a":[1,2,{"b":null}],"c":"d"}`,
	`"password"`, `"just a string"`, `12`, `-`, `1e`, `tru`, `nul`, `falsey`, `nan`,
	`{"user":"bob","password":"hun`, `{"token":"ab\`, `{"token":{"a":[1,"}`, `{"token": 12`,
	`{"token":tr`, `{"password": `, `{"a":1,"passw`, `[{"a":1},{"secret":"x"},{"b`,
	`{"a":[{"b":{"api_key":"k"},"c":[1,2`,
	`{"a": 1,, "password": "x", "b": 2}`, `{'password': 'x', "ok": 1}`, `{password: hunter2, user: bob}`,
	`{"a": "x, "password": "y"}`, ")]}'\n{\"token\":\"t\",\"a\":[1]}", `{"token": NaN, "a": 1}`,
	`{"secret":{"x":1},}`, `{"a":1} } {"token":{"b":[`, "\x00\x01{\"\xff",
	`{'secret': 'x', cvv: 123}`, "\x1e{\"ssn\":1}\n{\"credit_card\":\"4111\"}",
	`{"user":{"email":"e","name":"n"},"email":"kept"}`, `{"items":[{"card":"1"},{"card":{"n":2}},{"x":3}]}`,
	`{"a":{"b":[1],"c":2},"b":3}`, `{"iban":1,"x":{"y":[{"iban":"DE"}]}}`, `[{"x":1},{"x":2,"y":3}]`,
	`{"odd.key":1,"odd":{"key":2}}`, `{"list":[0,1,2]}`, `{"m":{"a":{"v":1,"w":2},"b":{"v":3}}}`,
	`{"User":{"email":"e"}}`, `{"user": {"email": "e",, }}`,
	`{"` + strings.Repeat("x", 70) + `token":1,"` + strings.Repeat("-", 70) + `cvv":2,"` + strings.Repeat("_", 63) + `ssn":3}`,
	`{"` + strings.Repeat("ab", 40) + `":{"` + strings.Repeat("é", 40) + `password":1}}`,
	`{"\u0000token":1,"to\u0000ken":2,"tok` + "\x00" + `en":3,"c\u0076v":4,"\ud83d\ude00secret":5,"\ud800secret":6}`,
	`{"a":"\\\\\\"}`, `{"a":"\\\\\\\"","token":1}`, `["\\"]`, `["\\\"]`, `{"x":"` + strings.Repeat(`\\`, 33) + `"}`,
	`{"token":"` + strings.Repeat("é\\\"", 1000) + `"}`,
	"{\"name\":\"日本語\",\"パスワード\":\"x\",\"émoji\":\"😀\",\"password\":\"😀\"}",
	`{"n":[0,-0,1.5,-1.5e+10,1E-3,00,1.2.3,--1,+1,.5]}`, `{"token":-}`, `{"token":+1}`, `{"token":.5}`,
	`{"a":true,"b":false,"c":null,"token":false}`, `{"a":trux}`, `{"a":nul}`, `{"a":n}`,
	`[1,2,]`, `[,1]`, `{,}`, `{"a" "b"}`, `{"a":1 "b":2}`, `{"a"::1}`, `{:1}`, `[}`, `{]`, `]`, `}}`,
	`{"secret":1}]`, `[[[[{"token":[[[[1]]]]}]]]]`, "{\"a\":1}\x1e\x1e{\"token\":2}",
	"{\"token\"\n:\n\"x\"\n}", "{\"token\"\t:\t{\"a\" : [ 1 , { \"b\" : \"]\" } ] } , \"c\":1}",
	`{a: 1, 'b': 2, "token": 3}`, `{$password: 1}`, `{pass-word: 1}`, `{_token_: 1}`, `{1password: 1}`,
	`{"password' : 'x'}`, `{'pass\'word': 'x'}`, `{"token":'x'}`, `{"token":"x}`,
	"{\"password\": hunter2\n, \"a\": 1}", "{password: hunter 2 , b: 1}", "{password:\t x \t}", "{password:\r\n}",
	`{"token":{"a":"}"`, `{"token":["]"`, `{"token":[{"a":[}]`, `{"token":"x"` + strings.Repeat(" ", 100),
	// Keys and strings whose end is in, at or just past the eight bytes
	// after their quote (the scanner's one-word look), with and without a
	// backslash there, and near the end of the input.
	`{"pw":1,"pin":"1234","sid":"abcdefg","sig":"abcdefgh","pwd7xyz":1,"passwd":2,"token12":3,"token123":4}`,
	`{"a":{"b":"","":"","c\"":"\"","d\\":"x\"y","\"":1,"ab\u0063":"v"}}`,
	`{"abcdefg":"abcdefg","abcdefgh":"abcdefgh","secret":"\"\"\"\"\"\"\"\""}`,
	`{"a":1}`, `{"pw":1}`, `{"pwd":"x"}`, `{"a":"b"}`, `["abcdefg"]`, `["abcdefgh"]`, `{"password`, `{"pw"`, `{"pin":`,
	`{"PIN":1,"Pin":2,"pIn":3,"x_pw":4,"pwX":5,"card":6,"cvv2":7,"Sid":"s"}`,
	// Containers nested past the 64 the scanner keeps in a word, closed
	// in and out of order, before a string that the textual pass (taken
	// if the scanner lost its place) would read a key in.
	strings.Repeat(`{"a":[`, 40) + `{"token":1},[]` + strings.Repeat(`]}`, 40) + `{"secret":2,"n":"'pw': 1"}`,
	strings.Repeat(`[`, 64) + `{"token":1}` + strings.Repeat(`]`, 64) + `{"x":{"pw":3},"n":"'pw': 1"}`,
	strings.Repeat(`{"a":`, 63) + `[{"token":1}]` + strings.Repeat(`}`, 63) + `,{"pw":2,"n":"'pw': 1"}`,
	strings.Repeat(`{"a":`, 64) + `{}` + strings.Repeat(`}`, 64) + `{"pw":2,"n":"'pw': 1"}`,
	strings.Repeat(`[{"k":`, 65) + `1` + strings.Repeat(`}]`, 64) + `,{"pw":2,"n":"'pw': 1"}]`,
	strings.Repeat(`[{"k":`, 70) + `1` + strings.Repeat(`]}`, 70),
	strings.Repeat(`{"a":[`, 130) + `"x"` + strings.Repeat(`]}`, 129) + `,"token":"t","n":"'pw': 1"}`,
}

// jsonGen generates random JSON-like documents: valid JSON at heart, with
// the keys, escapes and numbers that matter to redaction, then sometimes
// damaged.
type jsonGen struct {
	r *rand.Rand
	b []byte
}

var genKeys = []string{
	"id", "name", "email", "user", "items", "card", "list", "x", "v", "m", "a", "b", "iban", "note", "data", "attributes",
	"password", "Password", "PASSWORD", "passwd", "pass", "pass_word", "pass-word", "user_password", "passwordHint",
	"secret", "client_secret", "clientSecret", "secrets", "token", "access_token", "idToken", "tokenizer", "tok_en",
	"api_key", "apikey", "api-key", "apiKey", "API_KEY", "a-p-i-k-e-y", "authorization", "Authorization", "auth",
	"credential", "credentials", "private_key", "privateKey", "private", "key", "session",
	"cvv", "CVV", "cvv2", "_cvv_", "ssn", "ssn_hint", "card_number", "cardNumber", "credit_card", "creditCard", "credit-card", "cardnumbers",
	`pass\u0077ord`, `\u0074oken`, `a\"b`, `to\\ken`, `\n`, `t\u006Fk\u0065n`, `\ud83d\ude00`, `api\u005fkey`, `\u0000`,
	"é", "日本語", "émail", "ÉTÉ", "first_name", "First-Name", "odd.key", "",
	strings.Repeat("long", 20) + "token", strings.Repeat("_", 70) + "cvv", "cvv" + strings.Repeat("-", 70),
}

var genStrings = []string{
	"", "bob", "hunter2", `\"`, `\\`, `\\\"`, `x\"y`, `\u00e9`, `\ud83d\ude00`, "é", "日本語", "😀", `\n\t\r\b\f\/`,
	`"password": "x"`, "token", `}`, `]`, `{`, `[`, `,`, `:`, `'`, "<b>&amp;</b>",
}

func (g *jsonGen) ws() {
	if g.r.IntN(4) == 0 {
		const blanks = " \t\n\r  \n"
		from := g.r.IntN(len(blanks))
		g.b = append(g.b, blanks[from:min(from+1+g.r.IntN(2), len(blanks))]...)
	}
}

func (g *jsonGen) value(depth int) {
	g.ws()
	n := 8
	if depth > 6 {
		n = 5
	}
	switch g.r.IntN(n) {
	case 0:
		g.b = append(g.b, '"')
		for range g.r.IntN(3) {
			g.b = append(g.b, genStrings[g.r.IntN(len(genStrings))]...)
		}
		if g.r.IntN(50) == 0 {
			g.b = append(g.b, strings.Repeat("long string ", g.r.IntN(1000))...)
		}
		g.b = append(g.b, '"')
	case 1:
		g.b = append(g.b, []string{"0", "-1", "1.5", "-1.5e+3", "1E9", "12345678901234567890", "-0.0e-0", "3"}[g.r.IntN(8)]...)
	case 2:
		g.b = append(g.b, []string{"true", "false", "null"}[g.r.IntN(3)]...)
	case 3, 4:
		g.b = append(g.b, '"')
		g.b = append(g.b, genStrings[g.r.IntN(len(genStrings))]...)
		g.b = append(g.b, '"')
	case 5, 6:
		g.b = append(g.b, '{')
		for k := range g.r.IntN(5) {
			if k > 0 {
				g.b = append(g.b, ',')
			}
			g.ws()
			g.b = append(g.b, '"')
			g.b = append(g.b, genKeys[g.r.IntN(len(genKeys))]...)
			g.b = append(g.b, '"')
			g.ws()
			g.b = append(g.b, ':')
			g.value(depth + 1)
		}
		g.ws()
		g.b = append(g.b, '}')
	case 7:
		g.b = append(g.b, '[')
		for k := range g.r.IntN(5) {
			if k > 0 {
				g.b = append(g.b, ',')
			}
			g.value(depth + 1)
		}
		g.ws()
		g.b = append(g.b, ']')
	}
	g.ws()
}

// doc returns a new document: one value, or a stream of them.
func (g *jsonGen) doc() []byte {
	g.b = g.b[:0]
	switch g.r.IntN(10) {
	case 0:
		g.b = append(g.b, "\xEF\xBB\xBF"...)
	case 1:
		for range 1 + g.r.IntN(3) {
			g.b = append(g.b, 0x1E)
			g.value(0)
			g.b = append(g.b, '\n')
		}
		return g.b
	case 2:
		for range 1 + g.r.IntN(3) {
			g.value(0)
			g.b = append(g.b, '\n')
		}
		return g.b
	}
	if g.r.IntN(3) == 0 {
		// Most real bodies are an object.
		g.b = append(g.b, `{"data":`...)
		g.value(0)
		g.b = append(g.b, '}')
	} else {
		g.value(0)
	}
	return g.b
}

// damage returns a copy of b changed at random: cut short, bytes replaced,
// inserted or removed.
func damage(r *rand.Rand, b []byte) []byte {
	const special = "{}[]\":,\\' \n\x1e0-_aT\x00\xff/u"
	out := bytes.Clone(b)
	switch r.IntN(5) {
	case 0:
		if len(out) > 0 {
			out = out[:r.IntN(len(out))]
		}
	default:
		for range 1 + r.IntN(3) {
			p := 0
			if len(out) > 0 {
				p = r.IntN(len(out))
			}
			c := special[r.IntN(len(special))]
			if r.IntN(4) == 0 {
				c = byte(r.Uint32())
			}
			switch {
			case r.IntN(3) == 0 && len(out) > 0:
				out[p] = c
			case r.IntN(2) == 0 && len(out) > 0:
				out = append(out[:p], out[p+1:]...)
			default:
				out = append(out[:p], append([]byte{c}, out[p:]...)...)
			}
		}
	}
	return out
}

// checkJSONSame fails t if redactJSON and the reference differ on in.
func checkJSONSame(t *testing.T, r *Options, in []byte) {
	t.Helper()
	out, n, err := r.redactJSON(in)
	rout, rn, rerr := refRedactJSON(r, in)
	if !bytes.Equal(out, rout) || (out == nil) != (rout == nil) || n != rn || err != rerr {
		t.Fatalf("redactJSON(%q) with %+v:\ngot  %q, %d, %v\nwant %q, %d, %v", trimForLog(in), r, trimForLog(out), n, err, trimForLog(rout), rn, rerr)
	}
}

func trimForLog(b []byte) []byte {
	if len(b) > 2000 {
		return append(b[:2000:2000], "..."...)
	}
	return b
}

// TestRedactJSONMatchesReference compares redactJSON with the reference on
// the seeds (whole, and cut at every byte), on large documents, deep ones,
// and on many random documents, whole and damaged, in every
// configuration of diffConfigs.
func TestRedactJSONMatchesReference(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 1000
	}
	var bodies [][]byte
	for _, s := range diffSeeds {
		bodies = append(bodies, []byte(s))
	}
	for _, size := range []int{1 << 10, 64 << 10} {
		for _, secrets := range []bool{false, true} {
			bodies = append(bodies, benchJSON(size, secrets, false), benchJSON(size, secrets, true))
		}
	}
	// Deep documents are only cut at a few places, and not compared at
	// all with JSONPaths past a depth of 1000: matching paths costs time
	// in the square of the depth, in both versions.
	var deep [][]byte
	for _, depth := range []int{63, 64, 65, 1000, MaxJSONDepth - 1, MaxJSONDepth, MaxJSONDepth + 1} {
		open, close := strings.Repeat("[", depth), strings.Repeat("]", depth)
		deep = append(deep,
			[]byte(open+`{"token":"x","a":1}`+close),
			[]byte(open+`{"token":"x",}`+close),
			[]byte(strings.Repeat(`{"a":`, depth)+`{"password":1}`+strings.Repeat("}", depth)),
			[]byte(open))
	}
	for ci := range diffConfigs {
		r := &diffConfigs[ci]
		t.Run(fmt.Sprint(ci), func(t *testing.T) {
			for _, in := range bodies {
				checkJSONSame(t, r, in)
				if len(in) <= 4096 {
					for k := range in {
						checkJSONSame(t, r, in[:k])
					}
				} else {
					for k := 0; k < len(in); k += 1 + len(in)/20 {
						checkJSONSame(t, r, in[:k])
					}
				}
			}
			for _, in := range deep {
				if r.JSONPaths != nil && len(in) > 5000 {
					continue
				}
				checkJSONSame(t, r, in)
				checkJSONSame(t, r, in[:len(in)/2])
				checkJSONSame(t, r, in[:len(in)-1])
			}
			g := jsonGen{r: rand.New(rand.NewPCG(1, uint64(ci)))}
			for range n {
				doc := g.doc()
				checkJSONSame(t, r, doc)
				for range 3 {
					checkJSONSame(t, r, damage(g.r, doc))
				}
			}
		})
	}
}

// TestSensitiveFieldMatchesReference compares sensitiveField with the
// reference on names made of the sensitive words and their pieces, cased,
// split and wrapped in every way that matters, and on random names.
func TestSensitiveFieldMatchesReference(t *testing.T) {
	var names []string
	words := append(append([]string{"session", "pass", "passw", "card", "credit", "number", "private", "key", "api"}, refFieldWords[:]...), refFieldNames[:]...)
	for _, w := range words {
		for _, v := range []string{w, strings.ToUpper(w), strings.ToUpper(w[:1]) + w[1:]} {
			names = append(names, v, "x"+v, v+"x", "-"+v+"_", "_"+v+"2", v+v, v[:len(v)-1], v[1:], "é"+v, v+"\x00", "\x00"+v)
			for k := 1; k < len(v); k++ {
				names = append(names, v[:k]+"_"+v[k:], v[:k]+"-"+v[k:], v[:k]+"x"+v[k:], v[:k]+"\x00"+v[k:], v[:k]+" "+v[k:], v[:k]+"__"+v[k:])
			}
			for _, pad := range []int{maxFolded - len(v) - 1, maxFolded - len(v), maxFolded - len(v) + 1, 100} {
				if pad >= 0 {
					names = append(names, strings.Repeat("a", pad)+v, v+strings.Repeat("b", pad), strings.Repeat("_", pad)+v, v+strings.Repeat("-", pad))
				}
			}
		}
	}
	rnd := rand.New(rand.NewPCG(2, 3))
	const alphabet = "passwordtokenapikeysecretcvnumbrdilvhzPASTOKE-_\x00\x80é"
	for range 200000 {
		b := make([]byte, rnd.IntN(16))
		for k := range b {
			b[k] = alphabet[rnd.IntN(len(alphabet))]
		}
		names = append(names, string(b))
	}
	for ci := range diffConfigs[:2] {
		r := &diffConfigs[ci]
		for _, name := range names {
			if got, want := sensitiveField(r, name), refSensitiveField(r, name); got != want {
				t.Fatalf("sensitiveField(%q): got %v, want %v", name, got, want)
			}
			if got, want := sensitiveField(r, []byte(name)), refSensitiveField(r, []byte(name)); got != want {
				t.Fatalf("sensitiveField([]byte(%q)): got %v, want %v", name, got, want)
			}
		}
	}
}

// TestSensitiveFieldWords checks that the spelled-out matcher of
// foldedName.sensitive knows the words of fieldWords and fieldNames: each
// is sensitive, and none is once any of its letters is changed (unless
// that spells another one).
func TestSensitiveFieldWords(t *testing.T) {
	r := &Options{}
	sensitive := func(name string) bool {
		var f foldedName
		f.n = foldName(&f.b, name)
		return f.sensitive()
	}
	all := append(fieldWords[:], fieldNames[:]...)
	for _, w := range all {
		whole := slices.Contains(fieldNames[:], w)
		if !sensitive(w) || sensitive("x"+w+"y") == whole {
			t.Errorf("%q: not matched as it should be", w)
		}
		for k := range len(w) {
			v := w[:k] + "#" + w[k+1:]
			if got, want := sensitive(v), sensitiveWords(v); got != want {
				t.Errorf("%q: got %v, want %v", v, got, want)
			}
			if got, want := sensitiveField(r, v), refSensitiveField(r, v); got != want {
				t.Errorf("%q: got %v, want %v from the reference", v, got, want)
			}
		}
	}
}

// formGen generates random urlencoded forms and query strings.
func formGen(r *rand.Rand) []byte {
	names := []string{"a", "user", "password", "pass%77ord", "pass+word", "api%5Fkey", "api%2", "token%zz", "%74oken", "access_token",
		"item%5B0%5D%5Bqty%5D", "%", "%%", "+", "cvv", "c%76v", "c+v+v", "ssn%00", "%C3%A9token", "", "secret;x", "q", "code", "CODE", "state", "scope", "grant_type"}
	values := []string{"", "1", "hunter2", "%5BREDACTED%5D", "[REDACTED]", "a+b", "%zz", "=", "x=y", "%26"}
	var b []byte
	for k := range r.IntN(8) {
		if k > 0 {
			b = append(b, "&;"[r.IntN(2)])
		}
		b = append(b, names[r.IntN(len(names))]...)
		if r.IntN(5) > 0 {
			b = append(b, '=')
			b = append(b, values[r.IntN(len(values))]...)
		}
	}
	return b
}

// TestRedactFormMatchesReference compares redactPairs with the reference
// on random forms, whole and damaged, as strings and as bytes.
func TestRedactFormMatchesReference(t *testing.T) {
	rnd := rand.New(rand.NewPCG(4, 5))
	bodies := [][]byte{benchForm(1<<10, false), benchForm(1<<10, true), benchForm(64<<10, true)}
	for range 20000 {
		f := formGen(rnd)
		bodies = append(bodies, f, damage(rnd, f))
	}
	for ci := range diffConfigs {
		r := &diffConfigs[ci]
		for _, in := range bodies {
			out, n := redactPairs(r, in)
			rout, rn := refRedactPairs(r, in)
			if !bytes.Equal(out, rout) || (out == nil) != (rout == nil) || n != rn {
				t.Fatalf("redactPairs(%q) with %+v:\ngot  %q, %d\nwant %q, %d", in, r, out, n, rout, rn)
			}
			sout, sn := redactPairs(r, string(in))
			if !bytes.Equal(sout, out) || sn != n {
				t.Fatalf("redactPairs(%q) as a string: got %q, %d, want %q, %d", in, sout, sn, out, n)
			}
		}
	}
}

// FuzzRedactJSONReference: redactJSON gives the same bytes as the
// reference, on anything, in every configuration.
func FuzzRedactJSONReference(f *testing.F) {
	for _, s := range diffSeeds {
		f.Add(s)
	}
	f.Add(string(benchJSON(1<<10, true, false)))
	f.Fuzz(func(t *testing.T, in string) {
		for ci := range diffConfigs {
			checkJSONSame(t, &diffConfigs[ci], []byte(in))
		}
	})
}

// FuzzRedactFormReference: redactPairs gives the same bytes as the
// reference, on anything.
func FuzzRedactFormReference(f *testing.F) {
	rnd := rand.New(rand.NewPCG(6, 7))
	for range 20 {
		f.Add(string(formGen(rnd)))
	}
	f.Fuzz(func(t *testing.T, in string) {
		for ci := range diffConfigs {
			r := &diffConfigs[ci]
			out, n := redactPairs(r, in)
			rout, rn := refRedactPairs(r, in)
			if !bytes.Equal(out, rout) || (out == nil) != (rout == nil) || n != rn {
				t.Fatalf("redactPairs(%q) with %+v:\ngot  %q, %d\nwant %q, %d", in, r, out, n, rout, rn)
			}
		}
	})
}

// TestKeyMemo: a keyMemo answers as sensitiveName does, however keys
// collide in it: many keys of each length up to past 16 bytes, sharing
// their first or last bytes, sensitive or not, looked up in random order
// again and again, in the middle of the input and at its very end.
func TestKeyMemo(t *testing.T) {
	rnd := rand.New(rand.NewPCG(8, 9))
	keys := []string{"private_key", ":rivate_key", "privatE_key", "private_kez", "passwordpassword", "passwordpasswor", "xpasswordpasswor",
		"token", "tokem", "ssn", "ssm", "cvv", "c_v_v", "card", "card\x00", "ssn\x00", "sign\x00\x00", "\x00", "\x00\x00", "cardnumber", "cardnumbe", "id", "a", "_", "-", "\x00", "tok\x00n"}
	const alphabet = "tokenpaswrdc_-XK\x00é"
	for n := 1; n <= 18; n++ {
		for range 40 {
			b := make([]byte, n)
			for k := range b {
				b[k] = alphabet[rnd.IntN(len(alphabet))]
			}
			keys = append(keys, string(b))
		}
	}
	for _, k := range keys[:len(keys):len(keys)] {
		for _, w := range []string{"token", "secret", "cvv"} {
			if len(k) >= len(w) {
				keys = append(keys, w+k[len(w):], k[:len(k)-len(w)]+w)
			}
		}
	}
	m, r := new(keyMemo), &Options{}
	for round := range 300000 {
		k := keys[rnd.IntN(len(keys))]
		in := []byte(`"` + k + `":1,"x":2}`)
		if round%3 == 0 {
			in = in[:1+len(k)] // the key at the end of the input
		}
		want := sensitiveName(k)
		if got := m.sensitive(in[1:1+len(k)], in, 1); got != want {
			t.Fatalf("round %d: key %q: got %v, want %v", round, k, got, want)
		}
		// And as the scanner looks it up, from the pool's memos: keys of
		// up to 7 bytes in their own places.
		if _, n, _ := r.redactJSON([]byte(`{"` + k + `":1,"x":2}`)); (n == 1) != want {
			t.Fatalf("round %d: key %q: %d values hidden, want sensitive %v", round, k, n, want)
		}
		if round%100000 == 0 {
			m = new(keyMemo)
		}
	}
}

// TestRedactJSONConcurrent: redactions running at once, with different
// replacements, share the key memos and the encoded replacements safely
// (run it with -race).
func TestRedactJSONConcurrent(t *testing.T) {
	body := benchJSON(8<<10, true, false)
	var wg sync.WaitGroup
	for ci := range diffConfigs {
		r := &diffConfigs[ci]
		want, _, _ := refRedactJSON(r, body)
		wantForm, _ := refRedactPairs(r, benchForm(1<<10, true))
		wg.Go(func() {
			for range 50 {
				if got, _, _ := r.redactJSON(body); !bytes.Equal(got, want) {
					t.Errorf("config %d: redactJSON differs from the reference", ci)
					return
				}
				if got, _ := redactPairs(r, benchForm(1<<10, true)); !bytes.Equal(got, wantForm) {
					t.Errorf("config %d: redactPairs differs from the reference", ci)
					return
				}
			}
		})
	}
	wg.Wait()
}
