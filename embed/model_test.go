package embed_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/vectorstream/vectorstream/embed"
	"github.com/vectorstream/vectorstream/kernels"
)

func smallModel(t testing.TB, dim int) (*embed.Model, synthCatalog) {
	t.Helper()
	cat := newSynthCatalog(11, 600, 8)
	cfg := embed.DefaultFitConfig()
	cfg.Dim = dim
	m, err := embed.Fit(t.Context(), cat.docs, cfg, kernels.NewCPU())
	if err != nil {
		t.Fatal(err)
	}
	return m, cat
}

func TestModelSaveLoadRoundTrip(t *testing.T) {
	t.Parallel()
	m, cat := smallModel(t, 16)
	path := filepath.Join(t.TempDir(), "model.vsm")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := embed.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Dim() != m.Dim() || !reflect.DeepEqual(got.Terms(), m.Terms()) || !reflect.DeepEqual(got.SingularValues(), m.SingularValues()) ||
		got.Config() != m.Config() || got.Docs() != m.Docs() {
		t.Fatal("loaded model differs from the saved one")
	}
	a, b := encodeAll(t, m, cat.docs), encodeAll(t, got, cat.docs)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("loaded model encodes differently")
	}
}

func TestModelFileRefusesDamage(t *testing.T) {
	t.Parallel()
	m, _ := smallModel(t, 4)
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	if _, err := embed.ReadModel(bytes.NewReader(data)); err != nil {
		t.Fatalf("intact model refused: %v", err)
	}
	t.Run("truncated", func(t *testing.T) {
		for _, n := range []int{0, 3, 8, 19, 20, len(data) / 2, len(data) - 4, len(data) - 1} {
			_, err := embed.ReadModel(bytes.NewReader(data[:n]))
			if !errors.Is(err, embed.ErrModelTruncated) && !(n == 0 && errors.Is(err, embed.ErrNotModel)) {
				t.Errorf("truncated to %d of %d bytes: err = %v, want ErrModelTruncated", n, len(data), err)
			}
		}
		path := filepath.Join(t.TempDir(), "cut.vsm")
		if err := os.WriteFile(path, data[:len(data)-100], 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := embed.Load(path); !errors.Is(err, embed.ErrModelTruncated) {
			t.Errorf("Load of a truncated file: %v", err)
		} else {
			t.Logf("truncated file: %v", err)
		}
	})
	t.Run("flipped byte", func(t *testing.T) {
		bad := bytes.Clone(data)
		for i := 0; i < len(bad); i++ {
			if i >= 64 && i < len(bad)-8 && i%37 != 0 {
				continue // every header byte, the tail, and a stride of the payload
			}
			bad[i] ^= 0x10
			if _, err := embed.ReadModel(bytes.NewReader(bad)); err == nil {
				t.Fatalf("byte %d of %d flipped: model accepted", i, len(bad))
			}
			bad[i] ^= 0x10
		}
		bad[len(bad)/2] ^= 1
		path := filepath.Join(t.TempDir(), "flipped.vsm")
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := embed.Load(path); !errors.Is(err, embed.ErrModelChecksum) {
			t.Errorf("Load of a file with a flipped payload byte: %v, want ErrModelChecksum", err)
		} else {
			t.Logf("flipped byte: %v", err)
		}
	})
	t.Run("foreign and future", func(t *testing.T) {
		if _, err := embed.ReadModel(bytes.NewReader([]byte("PK\x03\x04 definitely a zip file"))); !errors.Is(err, embed.ErrNotModel) {
			t.Errorf("zip: %v", err)
		}
		future := bytes.Clone(data)
		future[8] = 2
		if _, err := embed.ReadModel(bytes.NewReader(future)); !errors.Is(err, embed.ErrModelVersion) {
			t.Errorf("version 2: %v", err)
		}
		if _, err := embed.ReadModel(bytes.NewReader(append(bytes.Clone(data), 0))); err == nil {
			t.Error("trailing byte accepted")
		}
	})
}
