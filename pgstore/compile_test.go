package pgstore

import "testing"

// TestFlagLossyHighest: queries test flagLossy as flags >= flagLossy,
// which holds only while no flag is above it.
func TestFlagLossyHighest(t *testing.T) {
	for _, f := range []int{flagHijacked, flagReqTruncated, flagRespTruncated, flagReqRedacted, flagRespRedacted,
		flagReqWithheld, flagRespWithheld, flagAsset, flagWebsocket, flagError} {
		if f >= flagLossy {
			t.Errorf("flag %#x is not below flagLossy (%#x)", f, flagLossy)
		}
	}
}
