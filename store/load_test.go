package store

import (
	"runtime"
	"testing"
	"time"

	"github.com/bodytap/bodytap/internal/cputime"
)

// TestLoadMeter checks the share of the writer's time that full-text
// indexing gets: all of it while the process has CPU to spare,
// indexShareBusy while it is busy (its own indexing not counted), and
// indexShare when the CPU time cannot be read.
func TestLoadMeter(t *testing.T) {
	var cpu time.Duration
	m := &loadMeter{procs: 2, readCPU: func() (time.Duration, bool) { return cpu, true }}
	t0 := time.Unix(1e9, 0)
	if s := m.share(t0); s != indexShareBusy {
		t.Fatalf("first share = %v, want %v until a window has been seen", s, indexShareBusy)
	}
	at := runLoadSteps(t, m, &cpu, t0, []loadStep{
		{"idle", 100 * time.Millisecond, 0, 1},
		{"busy", 1900 * time.Millisecond, 0, indexShareBusy},
		{"busy only with its own indexing", 1900 * time.Millisecond, 900 * time.Millisecond, 1},
		{"just under busyLoad", 1500 * time.Millisecond, 0, 1},
		{"just over busyLoad", 1700 * time.Millisecond, 0, indexShareBusy},
	})
	// Within a window the last decision holds, however the CPU moved.
	cpu += 10 * time.Second
	if s := m.share(at.Add(loadWindow / 2)); s != indexShareBusy {
		t.Errorf("within the window: share = %v, want the last one, %v", s, indexShareBusy)
	}

	blind := &loadMeter{readCPU: func() (time.Duration, bool) { return 0, false }}
	if s := blind.share(t0); s != indexShare {
		t.Errorf("CPU time unknown: share = %v, want %v", s, indexShare)
	}
}

// TestOthersLoad checks the meter of the store's goroutine: not busy from
// the start (prime), busy once the rest of the process (its own work not
// counted) uses more than othersLoad of the CPUs.
func TestOthersLoad(t *testing.T) {
	var cpu time.Duration
	m := &loadMeter{load: othersLoad, procs: 2, readCPU: func() (time.Duration, bool) { return cpu, true }}
	t0 := time.Unix(1e9, 0)
	m.prime(t0)
	if s := m.share(t0.Add(loadWindow / 2)); s != 1 {
		t.Fatalf("share in the first window = %v, want 1", s)
	}
	runLoadSteps(t, m, &cpu, t0, []loadStep{
		{"storing on two CPUs, nothing else", 1900 * time.Millisecond, 1800 * time.Millisecond, 1},
		{"requests on one CPU and a half", 1900 * time.Millisecond, 400 * time.Millisecond, indexShareBusy},
		{"requests on just under half a CPU", 1900 * time.Millisecond, 1450 * time.Millisecond, 1},
		{"requests on just over half a CPU", 1900 * time.Millisecond, 1350 * time.Millisecond, indexShareBusy},
	})
}

// A loadStep is a window of 1 s (2 CPU-seconds available) and the
// share a meter must decide after it.
type loadStep struct {
	name      string
	used, own time.Duration
	want      float64
}

// runLoadSteps moves the CPU time *cpu that m reads through steps, one
// window each after at, checks m's decisions and returns the last
// window's end.
func runLoadSteps(t *testing.T, m *loadMeter, cpu *time.Duration, at time.Time, steps []loadStep) time.Time {
	t.Helper()
	for _, st := range steps {
		at = at.Add(time.Second)
		*cpu += st.used
		m.own = st.own
		if s := m.share(at); s != st.want {
			t.Errorf("%s: share = %v, want %v", st.name, s, st.want)
		}
	}
	return at
}

// TestOwnTime checks that the store's own work counts as the CPU time it
// took, not its wall time: on a machine whose CPUs are all taken the two
// differ, and counting wall time made a starved proxy look idle to the
// meter (its store's goroutine then inserted at full speed). Waiting
// counts nothing; spinning counts.
func TestOwnTime(t *testing.T) {
	if _, ok := cputime.Thread(); !ok {
		if runtime.GOOS == "linux" {
			t.Fatal("cputime.Thread cannot tell on linux")
		}
		t.Skipf("no thread CPU time on %s", runtime.GOOS)
	}
	if d := ownTime(func() { time.Sleep(100 * time.Millisecond) }); d > 20*time.Millisecond {
		t.Errorf("sleeping 100 ms counted as %v of the store's own time", d)
	}
	// Spin until the process has used 30 ms of CPU time (a busy machine
	// gives a spinner only a share of a core); the spinner's thread took
	// most of it.
	x := 0
	d := ownTime(func() {
		before, _ := cputime.Process()
		for start := time.Now(); time.Since(start) < 10*time.Second; {
			for range 1 << 16 {
				x++
			}
			if after, _ := cputime.Process(); after-before >= 30*time.Millisecond {
				return
			}
		}
	})
	if d < 15*time.Millisecond {
		t.Errorf("spinning for 30 ms of CPU counted as %v of the store's own time (%d)", d, x)
	}
}
