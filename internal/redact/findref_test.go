package redact

// findRef is find as it was written first, byte by byte: the oracle
// that find, which skips what cannot hold a secret, must agree with.
//
// findRef returns the first secret that a detector of d finds in b[i:end],
// as the span b[from:to], and which detector found it (0 if none). b
// before i may be read for context. mode says how b is written; in JSON,
// an escaped slash, "\/", reads as a slash.
func findRef[S string | []byte](d Detector, b S, i, end, mode int) (from, to int, which Detector) {
	if mode == modeJSON && slashEscaped(b, i, end) {
		return findUnescaped(b, i, end, func(u []byte, lo int) (int, int, Detector) {
			return findRefBytes(d, u, lo, len(u), modeJSON)
		})
	}
	return findRefBytes(d, b, i, end, mode)
}

// findRefBytes is findRef with no escaped slash to read.
func findRefBytes[S string | []byte](d Detector, b S, i, end, mode int) (from, to int, which Detector) {
	var prevW uint8 // clsWord if the byte before b[i] is part of a word
	if i > 0 {
		prevW = byteClass[b[i-1]] & clsWord
	}
	aws := d&DetectAWS != 0
	run := 0 // the length of the run of clsB64 bytes ending at b[i]
	for ; i < end; i++ {
		c := b[i]
		k := byteClass[c]
		if k&clsEsc != 0 && mode == modeJSON {
			// A backslash ends a run of base64 as any other byte
			// would: an AWS secret key may end there ("<key>\n").
			if aws && run == 40 && awsSecret(b, i-40, i, end, mode) {
				return i - 40, i, DetectAWS
			}
			// It escapes the byte after it, which starts no word:
			// "\nghp_..." holds the word "ghp_...".
			i++
			prevW, run = 0, 0
			continue
		}
		// Word starts only: the mask is all ones when prevW is 0.
		if sd := startDetectors[c] & d & (Detector(prevW) - 1); sd != 0 && i+1 < end && secondByte(c, b[i+1]) {
			if f, t, w := matchAt(sd, b, i, end, mode); w != 0 {
				return f, t, w
			}
		}
		if aws {
			b64 := int(k >> clsB64Shift & 1)
			if run == 40 && b64 == 0 && awsSecret(b, i-40, i, end, mode) {
				return i - 40, i, DetectAWS
			}
			run = (run + 1) * b64
		}
		prevW = k & clsWord
	}
	if aws && run == 40 && awsSecret(b, end-40, end, end, mode) {
		return end - 40, end, DetectAWS
	}
	return 0, 0, 0
}
