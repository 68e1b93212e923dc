package audit

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
)

// Report is the result of verifying one chain (one or more files read in
// order).
type Report struct {
	Lines          int      // every line read
	Records        int      // request records
	Checkpoints    int      // valid signed checkpoints
	FirstSeq       uint64   // seq of the first line
	LastSeq        uint64   // seq of the last line
	LastSignedSeq  int64    // seq of the last line a valid checkpoint covers; -1 for none
	Unsigned       int      // lines after the last valid checkpoint
	ContinuesChain bool     // the first line continues an earlier file (its prevHash is not zero)
	Problems       []string // every break found; empty means intact
}

// OK reports whether the chain is intact and every line is covered by a
// valid signature.
func (r *Report) OK() bool { return len(r.Problems) == 0 && r.Unsigned == 0 && r.Lines > 0 }

// Verifier checks lines of one chain in order; files that continue each
// other (rotation) are fed one after the other.
type Verifier struct {
	// Partial accepts a first line that continues an earlier file (checking
	// a rotated file alone); otherwise that is a problem: earlier lines or
	// files are missing.
	Partial bool

	key     ed25519.PublicKey // nil: trust the key the checkpoints name
	prev    [32]byte
	nextSeq uint64
	started bool
	r       Report
}

// NewVerifier checks signatures against key, or, when key is nil, against
// the key each checkpoint names (which proves only that the log was not
// changed by someone without that key: pin the key for real assurance).
func NewVerifier(key ed25519.PublicKey) *Verifier {
	return &Verifier{key: key, r: Report{LastSignedSeq: -1}}
}

// Read verifies every line of r; name labels problems.
func (v *Verifier) Read(name string, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		// Lines end at '\n' only: a '\r' added before it is a change the
		// hash must see.
		line, err := br.ReadBytes('\n')
		line = bytes.TrimSuffix(line, []byte("\n"))
		if len(line) > 0 {
			v.line(fmt.Sprintf("%s:%d", name, n), line)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Report returns the result so far.
func (v *Verifier) Report() Report { return v.r }

type lineFields struct {
	Seq        *uint64 `json:"seq"`
	PrevHash   string  `json:"prevHash"`
	Category   string  `json:"category"`
	SignedHash string  `json:"signedHash"`
	Signature  string  `json:"signature"`
	PublicKey  string  `json:"publicKey"`
}

func (v *Verifier) line(where string, raw []byte) {
	r := &v.r
	r.Lines++
	var f lineFields
	if err := json.Unmarshal(raw, &f); err != nil || f.Seq == nil {
		v.problem("%s: not an audit record", where)
		return
	}
	prev, err := hex.DecodeString(f.PrevHash)
	switch {
	case !v.started:
		v.started, r.FirstSeq = true, *f.Seq
		r.ContinuesChain = !bytes.Equal(prev, make([]byte, 32))
		if r.ContinuesChain && !v.Partial {
			v.problem("%s: the log starts at seq %d, continuing an earlier file: earlier lines or files are missing (give the rotated files first, oldest first)", where, *f.Seq)
		}
	case *f.Seq != v.nextSeq:
		v.problem("%s: seq %d where %d was expected: lines were removed, added or reordered", where, *f.Seq, v.nextSeq)
	case err != nil || !bytes.Equal(prev, v.prev[:]):
		v.problem("%s: prevHash does not match the line before: that line was changed, or lines were removed or reordered", where)
	}
	r.LastSeq, v.nextSeq, v.prev = *f.Seq, *f.Seq+1, sha256.Sum256(raw)
	r.Unsigned++
	if f.Category != categoryCheckpoint {
		r.Records++
		return
	}
	if v.checkpointValid(&f, prev) {
		r.Checkpoints++
		r.LastSignedSeq, r.Unsigned = int64(*f.Seq), 0
		return
	}
	v.problem("%s: checkpoint signature is invalid", where)
}

func (v *Verifier) checkpointValid(f *lineFields, prev []byte) bool {
	key := v.key
	if key == nil {
		k, err := base64.StdEncoding.DecodeString(f.PublicKey)
		if err != nil || len(k) != ed25519.PublicKeySize {
			return false
		}
		key = k
	}
	sig, err := base64.StdEncoding.DecodeString(f.Signature)
	if err != nil || f.SignedHash != hex.EncodeToString(prev) || len(prev) != 32 {
		return false
	}
	return ed25519.Verify(key, signedMessage([32]byte(prev)), sig)
}

func (v *Verifier) problem(format string, args ...any) {
	if len(v.r.Problems) < 100 {
		v.r.Problems = append(v.r.Problems, fmt.Sprintf(format, args...))
	}
}
