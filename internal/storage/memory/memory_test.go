package memory_test

import (
	"testing"

	"github.com/keyhaven/keyhaven/internal/storage"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
	"github.com/keyhaven/keyhaven/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(*testing.T) storage.Store { return memory.New() })
}

func BenchmarkStore(b *testing.B) {
	storagetest.Bench(b, func(*testing.B) storage.Store { return memory.New() })
}
