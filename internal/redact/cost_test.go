//go:build linux

package redact

import (
	"flag"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

var costFlag = flag.Bool("redact.cost", false, "measure what the value detectors add to redaction, in thread CPU time")

// threadCPU returns the CPU time the calling thread has used, from
// CLOCK_THREAD_CPUTIME_ID: getrusage counts in scheduler ticks, too
// coarse for a few milliseconds of work.
func threadCPU(tb testing.TB) time.Duration {
	const clockThreadCPUTime = 3
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		tb.Fatal(errno)
	}
	return time.Duration(ts.Nano())
}

// TestDetectorCost measures, with -redact.cost, redaction by names alone
// and with every detector on, over the bodies of the redaction benchmarks,
// in thread CPU time rather than wall time: on a shared machine, wall
// time counts the time other processes take. The two run in turns, round
// after round, each round over at least 8 MiB; the median round of each
// counts (the best is shown too).
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
		iters := max(1, (8<<20)/len(bd.b))
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
	const rounds = 9
	var totalN, totalD, bestTotalN, bestTotalD float64
	for _, bd := range bodies {
		var n, d []time.Duration
		for range rounds {
			n = append(n, measure(names, bd))
			d = append(d, measure(detect, bd))
		}
		slices.Sort(n)
		slices.Sort(d)
		medN, medD := n[rounds/2], d[rounds/2]
		mbs := func(d time.Duration) float64 { return float64(len(bd.b)) / d.Seconds() / 1e6 }
		t.Logf("%-20s median: names %10v %5.0f MB/s  detect %10v %5.0f MB/s  %+6.1f%%   best: %+6.1f%%",
			bd.name, medN, mbs(medN), medD, mbs(medD), 100*(float64(medD)/float64(medN)-1), 100*(float64(d[0])/float64(n[0])-1))
		w := float64(1<<20) / float64(len(bd.b))
		totalN += float64(medN) * w
		totalD += float64(medD) * w
		bestTotalN += float64(n[0]) * w
		bestTotalD += float64(d[0]) * w
	}
	t.Logf("corpus (each body weighted to 1 MiB): median %+.1f%%, best %+.1f%%", 100*(totalD/totalN-1), 100*(bestTotalD/bestTotalN-1))
}
