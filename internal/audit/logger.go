package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Sink receives the audit lines. Each sink has its own chain.
type Sink interface {
	// Write appends lines (each ending in '\n'), durable as the sink's
	// policy says, before it returns. lines is reused after Write
	// returns: a sink that keeps the bytes must copy them.
	Write(lines []byte) error
	// Last returns the last line the sink already holds (from an earlier
	// run), so the chain continues across restarts; nil when empty.
	Last() []byte
	Close() error
}

// Options configure a Logger.
type Options struct {
	// Key signs checkpoints; nil leaves the log chained but unsigned.
	Key ed25519.PrivateKey
	// CheckpointEvery is the most time between a record and the signed
	// checkpoint that covers it (default 1 s).
	CheckpointEvery time.Duration
	// FailClosed makes Log wait for its record to be written and return the
	// sink's error, so the caller can refuse the request.
	FailClosed bool
	Now        func() time.Time
}

// linger is how long the writer waits to fill a batch when requests do not
// wait for their records.
const linger = time.Millisecond

// Logger writes records to its sinks from one goroutine, in batches.
type Logger struct {
	opts    Options
	ch      chan entry
	chains  []*chain
	done    chan struct{}
	lastErr atomic.Pointer[error]
	closeMu sync.RWMutex
	closed  bool

	writes     atomic.Uint64 // batches written to the sinks
	writeNanos atomic.Uint64 // time spent writing them
}

// WriteStats returns how many batches of records were written to the
// sinks and the total time it took (the write latency the /metrics
// endpoint exports).
func (l *Logger) WriteStats() (batches uint64, total time.Duration) {
	return l.writes.Load(), time.Duration(l.writeNanos.Load())
}

type entry struct {
	line []byte     // the record's JSON
	ack  chan error // FailClosed only
}

// chain is one sink and the state of its hash chain.
type chain struct {
	sink     Sink
	seq      uint64
	prev     [32]byte
	unsigned int           // lines since the last checkpoint
	retry    [][]byte      // records a failed write left, written first next time
	buf      []byte        // the lines of one write, reused
	dropped  atomic.Uint64 // records given up after maxRetry
}

// maxRetry bounds the records kept for a failing sink; older ones are
// dropped (and counted) beyond it.
const maxRetry = 100_000

// maxKeptBuf bounds the write buffer a chain keeps between writes.
const maxKeptBuf = 1 << 20

// New starts a logger over sinks; Close stops it.
func New(opts Options, sinks ...Sink) (*Logger, error) {
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l := &Logger{opts: opts, ch: make(chan entry, 4096), done: make(chan struct{})}
	for _, s := range sinks {
		c := &chain{sink: s}
		if err := c.resume(s.Last()); err != nil {
			return nil, err
		}
		l.chains = append(l.chains, c)
	}
	go l.run()
	return l, nil
}

// resume continues the chain after the sink's last line.
func (c *chain) resume(last []byte) error {
	if len(last) == 0 {
		return nil
	}
	var tail struct {
		Seq uint64 `json:"seq"`
	}
	if err := json.Unmarshal(last, &tail); err != nil {
		return errors.New("audit: the last line of the audit log is not a record; move the file aside or repair it")
	}
	c.seq, c.prev = tail.Seq+1, sha256.Sum256(last)
	return nil
}

// Log writes r. With FailClosed it returns only once r is written (or
// failed); otherwise it returns at once and never drops the record.
func (l *Logger) Log(r *Record) error {
	e := entry{line: r.AppendJSON((*linePool.Get().(*[]byte))[:0])}
	if l.opts.FailClosed {
		e.ack = make(chan error, 1)
	}
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return errors.New("audit: logger closed")
	}
	l.ch <- e
	l.closeMu.RUnlock()
	if e.ack != nil {
		return <-e.ack
	}
	return nil
}

// Dropped returns how many records failing sinks gave up (beyond the
// retained backlog).
func (l *Logger) Dropped() uint64 {
	var n uint64
	for _, c := range l.chains {
		n += c.dropped.Load()
	}
	return n
}

// Err returns the last write error, or nil once a write succeeds again.
func (l *Logger) Err() error {
	if p := l.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Close writes what is queued and a final checkpoint, and closes the sinks.
func (l *Logger) Close() error {
	l.closeMu.Lock()
	if !l.closed {
		l.closed = true
		close(l.ch)
	}
	l.closeMu.Unlock()
	<-l.done
	var errs []error
	for _, c := range l.chains {
		errs = append(errs, c.sink.Close())
	}
	return errors.Join(errs...)
}

func (l *Logger) run() {
	defer close(l.done)
	tick := time.NewTicker(l.opts.CheckpointEvery)
	defer tick.Stop()
	batch := make([]entry, 0, 1024)
	for {
		select {
		case e, ok := <-l.ch:
			if !ok {
				l.checkpoint()
				return
			}
			batch = append(batch[:0], e)
			batch = l.drain(batch)
			if !l.opts.FailClosed && len(batch) < cap(batch) {
				// Nobody waits for these records: gather more for a moment,
				// so a busy server writes a few large batches, not many
				// small ones.
				time.Sleep(linger)
				batch = l.drain(batch)
			}
			l.write(batch)
		case <-tick.C:
			l.checkpoint()
		}
	}
}

// drain adds what is already queued, up to a batch.
func (l *Logger) drain(batch []entry) []entry {
	for len(batch) < cap(batch) {
		select {
		case e, ok := <-l.ch:
			if !ok {
				return batch
			}
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

// write appends a batch to every sink and acknowledges it. A sink whose
// write fails keeps its chain where it was and keeps the records, which go
// first into its next write: they get the same numbers then, and nothing
// is lost from the chain while the sink recovers.
func (l *Logger) write(batch []entry) {
	records := make([][]byte, len(batch))
	for i, e := range batch {
		records[i] = e.line
	}
	err := l.writeChains(records)
	for _, e := range batch {
		if e.ack != nil {
			e.ack <- err
		}
	}
	if err == nil { // no chain kept a record to retry: the lines are free
		for i := range batch {
			if line := batch[i].line; cap(line) <= maxPooledLine {
				linePool.Put(&line)
			}
			batch[i].line = nil
		}
	}
}

// linePool recycles the buffers records are encoded into (a record is
// about 600 bytes; one per request).
var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooledLine = 4 << 10

func (l *Logger) writeChains(records [][]byte) error {
	start := time.Now()
	defer func() {
		l.writes.Add(1)
		l.writeNanos.Add(uint64(time.Since(start)))
	}()
	var errs []error
	for _, c := range l.chains {
		if err := c.write(records, !l.opts.FailClosed); err != nil {
			errs = append(errs, err)
		}
	}
	err := errors.Join(errs...)
	l.setErr(err)
	return err
}

// write writes the chain's retained records and records. With keep, the
// records of a failed write are retained (fail-closed refuses instead).
func (c *chain) write(records [][]byte, keep bool) error {
	all := append(c.retry, records...)
	if len(all) == 0 {
		return nil
	}
	buf := c.buf[:0]
	seq, prev, unsigned := c.seq, c.prev, c.unsigned
	for _, r := range all {
		buf = c.appendLine(buf, r)
	}
	if cap(buf) <= maxKeptBuf {
		c.buf = buf
	} else {
		c.buf = nil
	}
	err := c.sink.Write(buf)
	if err == nil {
		c.retry = nil
		return nil
	}
	c.seq, c.prev, c.unsigned = seq, prev, unsigned
	if keep {
		if over := len(all) - maxRetry; over > 0 {
			all = all[over:]
			c.dropped.Add(uint64(over))
		}
		c.retry = all
	}
	return err
}

func (l *Logger) setErr(err error) {
	if err == nil {
		l.lastErr.Store(nil)
		return
	}
	l.lastErr.Store(&err)
}

// appendLine chains a record: its JSON with seq and prevHash added.
func (c *chain) appendLine(buf, record []byte) []byte {
	start := len(buf)
	buf = append(buf, record[:len(record)-1]...)
	buf = append(buf, `,"seq":`...)
	buf = strconv.AppendUint(buf, c.seq, 10)
	buf = append(buf, `,"prevHash":"`...)
	buf = hex.AppendEncode(buf, c.prev[:])
	buf = append(buf, `"}`...)
	c.prev = sha256.Sum256(buf[start:])
	c.seq++
	c.unsigned++
	return append(buf, '\n')
}

// checkpoint appends a signed line covering every line before it, to each
// sink that has unsigned lines, and syncs sinks that batch their syncs. The
// error state changes only with a write: an idle tick after a failure does
// not clear it.
func (l *Logger) checkpoint() {
	var errs []error
	wrote := false
	for _, c := range l.chains {
		if len(c.retry) > 0 { // a failing sink: try again
			if err := c.write(nil, true); err != nil {
				errs = append(errs, err)
				continue
			}
			wrote = true
		}
		if s, ok := c.sink.(interface{ Flush() error }); ok {
			errs = append(errs, s.Flush())
		}
		if l.opts.Key == nil || c.unsigned == 0 {
			continue
		}
		cp := checkpointLine{Time: l.opts.Now().UTC(), Category: categoryCheckpoint,
			SignedHash: hex.EncodeToString(c.prev[:]),
			Signature:  base64.StdEncoding.EncodeToString(ed25519.Sign(l.opts.Key, signedMessage(c.prev))),
			PublicKey:  base64.StdEncoding.EncodeToString(l.opts.Key.Public().(ed25519.PublicKey))}
		raw, err := json.Marshal(cp)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		seq, prev, unsigned := c.seq, c.prev, c.unsigned
		if err := c.sink.Write(c.appendLine(nil, raw)); err != nil {
			c.seq, c.prev, c.unsigned = seq, prev, unsigned
			errs = append(errs, err)
			continue
		}
		c.unsigned, wrote = 0, true
	}
	if err := errors.Join(errs...); err != nil || wrote {
		l.setErr(err)
	}
}

// checkpointLine is the signed line: the signature covers SignedHash, the
// hash of the line before it.
type checkpointLine struct {
	Time       time.Time `json:"time"`
	Category   string    `json:"category"`
	SignedHash string    `json:"signedHash"`
	Signature  string    `json:"signature"`
	PublicKey  string    `json:"publicKey"`
}

// signedMessage is what a checkpoint signs: a domain prefix and the hash.
func signedMessage(h [32]byte) []byte {
	return append([]byte("keyhaven-audit-checkpoint-v1:"), h[:]...)
}
