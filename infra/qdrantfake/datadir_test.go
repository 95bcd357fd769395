package qdrantfake_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qdrant/go-client/qdrant"
	"github.com/vectorstream/vectorstream/infra/qdrantfake"
)

// dirEntries lists every file and directory under dir.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if rel, _ := filepath.Rel(dir, path); rel != "." {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDataDir checks the disk-backed store's life cycle: points go under the
// data dir, a dropped collection takes its points with it (a new one of the
// same name starts empty), and Close removes everything the server wrote
// there but leaves the data dir itself.
func TestDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, c := start(t, qdrantfake.WithDataDir(dir))
	ctx := t.Context()
	createCollection(t, c, "ev", 4, qdrant.Distance_Dot)
	upsertN(t, c, "ev", 300, 4, 7)
	if len(dirEntries(t, dir)) == 0 {
		t.Fatal("the data dir holds nothing after an upsert")
	}

	if err := c.DeleteCollection(ctx, "ev"); err != nil {
		t.Fatal(err)
	}
	createCollection(t, c, "ev", 4, qdrant.Distance_Dot)
	if n, err := c.Count(ctx, &qdrant.CountPoints{CollectionName: "ev"}); err != nil || n != 0 {
		t.Fatalf("count in a re-created collection = %d, %v; want 0", n, err)
	}
	limit := uint32(10)
	if pts, err := c.Scroll(ctx, &qdrant.ScrollPoints{CollectionName: "ev", Limit: &limit}); err != nil || len(pts) != 0 {
		t.Fatalf("scroll in a re-created collection = %d points, %v; want none", len(pts), err)
	}
	got, err := c.Get(ctx, &qdrant.GetPoints{CollectionName: "ev", Ids: []*qdrant.PointId{idOf(0), idOf(1)}})
	if err != nil || len(got) != 0 {
		t.Fatalf("get in a re-created collection = %v, %v; want none", got, err)
	}

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if left := dirEntries(t, dir); len(left) != 0 {
		t.Fatalf("after Close the data dir still holds %v", left)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("Close removed the data dir itself: %v", err)
	}
}

// TestDataDirUnusable checks that a data dir that cannot be made fails Listen
// at once.
func TestDataDirUnusable(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := qdrantfake.Listen("127.0.0.1:0", qdrantfake.WithDataDir(filepath.Join(file, "sub")))
	if err == nil {
		_ = srv.Close()
		t.Fatal("Listen with a data dir under a file succeeded")
	}
	if !strings.Contains(err.Error(), "create data dir") {
		t.Fatalf("Listen error %q does not say what failed", err)
	}
}
