package payload

import (
	"encoding/json"
	"testing"
)

// TestItems: the document is valid JSON of exactly the size asked for,
// with records, and the seed changes values only.
func TestItems(t *testing.T) {
	for _, n := range []int{21, 100, 1 << 10, 64 << 10} {
		for seed := range 3 {
			b := Items(n, seed)
			var doc struct {
				Items []struct {
					ID   int
					Name string
				}
				Pad string
			}
			if len(b) != n || json.Unmarshal(b, &doc) != nil {
				t.Fatalf("Items(%d, %d): %d bytes, valid JSON %v", n, seed, len(b), json.Valid(b))
			}
			if n >= 1<<10 && len(doc.Items) < n/80 {
				t.Errorf("Items(%d, %d): %d records, want at least %d", n, seed, len(doc.Items), n/80)
			}
		}
	}
	if a, b := Items(1<<10, 0), Items(1<<10, 1); string(a) == string(b) || len(a) != len(b) {
		t.Error("the seed does not change the values, or changes the size")
	}
}
