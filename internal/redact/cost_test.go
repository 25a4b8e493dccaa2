//go:build linux

package redact

import (
	"flag"
	"runtime"
	"syscall"
	"testing"
	"time"
)

var costFlag = flag.Bool("redact.cost", false, "measure what the value detectors add to redaction, in thread CPU time")

// threadCPU returns the CPU time the calling thread has used.
func threadCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestDetectorCost measures, with -redact.cost, redaction by names alone
// and with every detector on, over the bodies of the redaction benchmarks,
// in thread CPU time rather than wall time: on a shared machine, wall
// time counts the time other processes take. The two run in turns, round
// after round, and the best round of each counts.
//
//	go test -run TestDetectorCost -redact.cost -v ./internal/redact/
func TestDetectorCost(t *testing.T) {
	if !*costFlag {
		t.Skip("run with -redact.cost")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	names, detect := &Options{}, &Options{Detect: AllDetectors}
	type body struct {
		name string
		b    []byte
		form bool
	}
	var bodies []body
	for _, kind := range []struct {
		name            string
		secrets, indent bool
	}{{"clean", false, false}, {"secrets", true, false}, {"indented", false, true}} {
		for _, sz := range redactBenchSizes {
			bodies = append(bodies, body{"json/" + kind.name + "/" + sz.name, benchJSON(sz.n, kind.secrets, kind.indent), false})
		}
	}
	for _, sec := range []bool{false, true} {
		for _, sz := range redactBenchSizes[:2] {
			name := "form/clean/"
			if sec {
				name = "form/secrets/"
			}
			bodies = append(bodies, body{name + sz.name, benchForm(sz.n, sec), true})
		}
	}
	measure := func(r *Options, bd body) time.Duration {
		iters := max(1, (4<<20)/len(bd.b))
		start := threadCPU(t)
		for range iters {
			if bd.form {
				redactPairs(r, bd.b)
			} else {
				r.redactJSON(bd.b)
			}
		}
		return (threadCPU(t) - start) / time.Duration(iters)
	}
	var totalN, totalD time.Duration
	for _, bd := range bodies {
		bestN, bestD := time.Duration(1<<62), time.Duration(1<<62)
		for range 7 {
			bestN = min(bestN, measure(names, bd))
			bestD = min(bestD, measure(detect, bd))
		}
		mbs := func(d time.Duration) float64 { return float64(len(bd.b)) / d.Seconds() / 1e6 }
		t.Logf("%-22s names %9v %7.0f MB/s   detect %9v %7.0f MB/s   %+5.1f%%", bd.name, bestN, mbs(bestN), bestD, mbs(bestD), 100*(float64(bestD)/float64(bestN)-1))
		totalN += bestN * time.Duration(1<<20/len(bd.b))
		totalD += bestD * time.Duration(1<<20/len(bd.b))
	}
	t.Logf("corpus (each body weighted to 1 MiB): %+.1f%%", 100*(float64(totalD)/float64(totalN)-1))
}
