package audit

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Fsync policies of a file sink.
const (
	FsyncAlways   = "always"   // every batch is on disk before its requests finish
	FsyncInterval = "interval" // at most one second of records can be lost in a crash
	FsyncNever    = "never"    // the operating system decides
)

// FileSink appends to a file (mode 0600), rotating it by size: the full
// file is renamed to {path}.{UTC time} and a new one continues the chain.
type FileSink struct {
	mu        sync.Mutex
	path      string
	maxBytes  int64
	fsync     string
	f         *os.File
	size      int64
	last      []byte
	lastFsync time.Time
	dirty     bool // written since the last sync
}

// OpenFile opens (or creates) the audit file at path.
func OpenFile(path string, maxBytes int64, fsync string) (*FileSink, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	s := &FileSink{path: path, maxBytes: maxBytes, fsync: fsync}
	if err := dropTornTail(path); err != nil {
		return nil, err
	}
	last, err := lastLine(path)
	if err != nil {
		return nil, err
	}
	s.last = last
	return s, s.open()
}

func (s *FileSink) open() error {
	f, err := os.OpenFile(s.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	s.f, s.size = f, fi.Size()
	return nil
}

// Last returns the file's last line at open.
func (s *FileSink) Last() []byte { return s.last }

// Write appends lines, rotating first when they would pass the size limit.
func (s *FileSink) Write(lines []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.maxBytes > 0 && s.size > 0 && s.size+int64(len(lines)) > s.maxBytes {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	if s.f == nil {
		if err := s.open(); err != nil {
			return err
		}
	}
	n, err := s.f.Write(lines)
	if err != nil {
		// Cut a partial write, so the lines can be written again whole.
		if terr := s.f.Truncate(s.size); terr != nil {
			return fmt.Errorf("%w (and the partial write could not be cut: %v)", err, terr)
		}
		return err
	}
	s.size += int64(n)
	s.dirty = true
	switch {
	case s.fsync == FsyncAlways, s.fsync == FsyncInterval && time.Since(s.lastFsync) >= time.Second:
		return s.sync()
	}
	return nil
}

func (s *FileSink) sync() error {
	s.lastFsync, s.dirty = time.Now(), false
	return s.f.Sync()
}

// Flush syncs written lines under the interval policy; the logger calls it
// every second, so a quiet log is on disk a second after its last write.
func (s *FileSink) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil || !s.dirty || s.fsync == FsyncNever {
		return nil
	}
	return s.sync()
}

// rotate renames the full file and opens a new one. When it fails after
// closing the file, the next write opens the path again.
func (s *FileSink) rotate() error {
	if err := s.f.Sync(); err != nil {
		return err
	}
	err := s.f.Close()
	s.f = nil
	if err != nil {
		return err
	}
	name := s.path + "." + time.Now().UTC().Format("20060102T150405.000000000Z")
	if err := os.Rename(s.path, name); err != nil {
		return err
	}
	return s.open()
}

// Close syncs and closes the file.
func (s *FileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	defer func() { s.f = nil }()
	if err := s.f.Sync(); err != nil {
		s.f.Close()
		return err
	}
	return s.f.Close()
}

// dropTornTail cuts a last line that a crash left without its newline: it
// was never acknowledged, and the next line must start on a line of its
// own.
func dropTornTail(path string) error {
	data, err := lastBytes(path, 1<<20)
	if err != nil || len(data) == 0 || data[len(data)-1] == '\n' {
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	keep := fi.Size() - int64(len(data)) + int64(bytes.LastIndexByte(data, '\n')+1)
	return os.Truncate(path, keep)
}

func lastBytes(path string, window int64) ([]byte, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(fi.Size()-window, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return nil, err
	}
	return buf, nil
}

// lastLine reads the last complete line of a file (nil when absent or empty).
func lastLine(path string) ([]byte, error) {
	const window = 1 << 20
	buf, err := lastBytes(path, window)
	if err != nil {
		return nil, err
	}
	buf = bytes.TrimRight(buf, "\n")
	if len(buf) == 0 {
		return nil, nil
	}
	i := bytes.LastIndexByte(buf, '\n')
	if i < 0 && len(buf) >= window-1 {
		return nil, fmt.Errorf("audit: the last line of %s is longer than %d bytes", path, window)
	}
	return buf[i+1:], nil
}

// WriterSink writes to a stream such as standard output; each run starts
// a new chain.
type WriterSink struct {
	mu sync.Mutex
	w  io.Writer
}

// NewWriterSink returns a sink writing to w.
func NewWriterSink(w io.Writer) *WriterSink { return &WriterSink{w: w} }

// Write writes lines to the stream.
func (s *WriterSink) Write(lines []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.w.Write(lines)
	return err
}

// Last is nil: a stream has no earlier lines to continue.
func (s *WriterSink) Last() []byte { return nil }

// Close does nothing; the stream belongs to the caller.
func (s *WriterSink) Close() error { return nil }
