package bodytap

import (
	"math/rand/v2"
	"time"
)

// Sampling keeps a fraction of exchanges, while still keeping every error
// and slow request if asked to. The zero value keeps everything.
//
// A decision that needs the response (its status, its duration) is taken
// when the handler returns; until then the exchange is captured as usual,
// bounded by the caps, never buffered beyond them. When neither KeepErrors
// nor KeepSlowerThan is set, an exchange not picked is decided before the
// handler runs and passes with no wrapping at all.
type Sampling struct {
	// Rate is the fraction of exchanges kept, picked at random: 0.01 keeps
	// one in a hundred. Zero (or 1 and above) keeps all; a negative rate
	// keeps none but those KeepErrors and KeepSlowerThan rescue.
	Rate float64

	// KeepErrors keeps every exchange whose status is 5xx or that ended
	// with an error (Exchange.Err), picked or not.
	KeepErrors bool

	// KeepSlowerThan, when positive, keeps every exchange whose handler
	// ran longer than this, picked or not.
	KeepSlowerThan time.Duration
}

func (s Sampling) active() bool { return s.Rate != 0 && s.Rate < 1 }

func (s Sampling) keepsAny() bool { return s.KeepErrors || s.KeepSlowerThan > 0 }

// pick reports whether an exchange is in the random sample.
func (s Sampling) pick() bool { return s.Rate > 0 && rand.Float64() < s.Rate }

// rescues reports whether x is kept although it was not picked.
func (s Sampling) rescues(x *Exchange) bool {
	if s.KeepErrors && (x.Response.Status >= 500 || x.Err != nil) {
		return true
	}
	return s.KeepSlowerThan > 0 && x.Duration > s.KeepSlowerThan
}
