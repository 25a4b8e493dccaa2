package match

import "testing"

func TestPath(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"/api/*", "/api/items", true},
		{"/api/*", "/api/items/7", false},
		{"/api/**", "/api/items/7", true},
		{"/api/", "/api/items/7", true},
		{"/api/", "/apix", false},
		{"/items/{id}", "/items/7", true},
		{"/items/{id}", "/items/7/x", false},
		{"/static/{rest...}", "/static/css/a.css", true},
		{"/*.json", "/data.json", true},
		{"/**/download", "/a/b/download", true},
		{"/**/download", "/download", true},
		{"/healthz", "/healthz", true},
		{"/healthz", "/healthz/", false},
	}
	for _, c := range cases {
		if got := Path(c.pattern, c.path); got != c.want {
			t.Errorf("Path(%q, %q) = %v, want %v", c.pattern, c.path, got, c.want)
		}
	}
}

func TestStatusAndMediaType(t *testing.T) {
	statuses := []struct {
		p    string
		s    int
		want bool
	}{
		{"5xx", 503, true}, {"5xx", 499, false}, {"404", 404, true}, {"400-499", 418, true}, {"400-499", 500, false}, {"2XX", 204, true},
	}
	for _, c := range statuses {
		if got := List(c.p, func(p string) bool { return Status(p, c.s) }); got != c.want {
			t.Errorf("status %q vs %d: got %v, want %v", c.p, c.s, got, c.want)
		}
	}
	types := []struct {
		p, ct string
		want  bool
	}{
		{"video/*", "video/mp4", true},
		{"video/*", "audio/mp4", false},
		{"application/json", "application/json; charset=utf-8", true},
		{"text/html,application/json", "APPLICATION/JSON", true},
		{"application/json", "", false},
	}
	for _, c := range types {
		if got := MediaType(c.p, c.ct); got != c.want {
			t.Errorf("type %q vs %q: got %v, want %v", c.p, c.ct, got, c.want)
		}
	}
}

func TestHost(t *testing.T) {
	cases := []struct {
		pattern, host string
		want          bool
	}{
		{"*.example.com", "api.example.com", true},
		{"*.example.com", "api.example.com:8080", true},
		{"*.example.com", "example.com", false},
		{"API.example.com", "api.EXAMPLE.com", true},
	}
	for _, c := range cases {
		if got := Host(c.pattern, c.host); got != c.want {
			t.Errorf("Host(%q, %q) = %v, want %v", c.pattern, c.host, got, c.want)
		}
	}
}
