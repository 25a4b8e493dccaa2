package har

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bodytap/bodytap"
)

// idState makes the IDs of imported entries that have none, laid out as
// bodytap lays out its own (see [bodytap.ID]): 48 bits of Unix time in
// milliseconds, then 16 bits random per process and a 64-bit counter that
// starts at a random value. So they sort by start time, and entries that
// started in the same millisecond sort in the order they were imported.
var idState struct {
	once sync.Once
	hi   uint16
	seq  atomic.Uint64
}

func newID(t time.Time) bodytap.ID {
	idState.once.Do(func() {
		var b [10]byte
		rand.Read(b[:])
		idState.hi = binary.BigEndian.Uint16(b[:2])
		idState.seq.Store(binary.BigEndian.Uint64(b[2:]))
	})
	var id bodytap.ID
	ms := uint64(t.UnixMilli()) & (1<<48 - 1)
	binary.BigEndian.PutUint64(id[0:8], ms<<16|uint64(idState.hi))
	binary.BigEndian.PutUint64(id[8:16], idState.seq.Add(1))
	return id
}
