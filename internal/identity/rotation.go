package identity

import (
	"context"
	"encoding/json"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
)

// RotateKeys adds a signing key when the newest one is older than every,
// and retires a key once its successor has signed for longer than a token
// lives (plus clock skew): no token it signed is still valid then. Until
// that point the JWKS publishes both, so relying parties that cache it keep
// verifying. It reports whether the keys changed; every <= 0 disables it.
func (s *Service) RotateKeys(ctx context.Context, now time.Time, every time.Duration) (bool, error) {
	if every <= 0 {
		return false, nil
	}
	s.mu.RLock()
	keys := s.keys
	s.mu.RUnlock()
	if len(keys) == 0 {
		return false, nil
	}
	next := keys
	if now.Sub(keys[len(keys)-1].Created) >= every {
		k, err := newSigningKey(now) // RSA generation outside the transaction
		if err != nil {
			return false, err
		}
		next = append(append([]*signingKey(nil), keys...), k)
	}
	next = retireKeys(next, now, s.lifetime+clockSkew)
	if len(next) == len(keys) && next[len(next)-1] == keys[len(keys)-1] {
		return false, nil
	}
	raw, err := json.Marshal(next)
	if err != nil {
		return false, err
	}
	if err := s.b.Update(ctx, func(tx *barrier.Tx) error { return tx.Put(keysKey, raw) }); err != nil {
		return false, err
	}
	s.mu.Lock()
	s.keys = next
	s.gen.Add(1)
	s.mu.Unlock()
	return true, nil
}

// retireKeys drops the keys whose successor was created more than window
// ago; the newest key always stays.
func retireKeys(keys []*signingKey, now time.Time, window time.Duration) []*signingKey {
	var out []*signingKey
	for i, k := range keys {
		if i < len(keys)-1 && now.Sub(keys[i+1].Created) > window {
			continue
		}
		out = append(out, k)
	}
	return out
}
