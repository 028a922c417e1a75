package builtin

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
	"github.com/ipfs-force-community/venus-cluster-go/worker/store/storetest"
)

// The semantics of one route (kinds, replacing, atomicity, symlinks) are store.TransferFile's
// and tested there; these tests cover the processor: routes, options, order, errors, cancellation.

func route(src, dest string, opt *processor.TransferOption) processor.TransferRoute {
	return processor.TransferRoute{Src: processor.TransferItem{URI: src}, Dest: processor.TransferItem{URI: dest}, Opt: opt}
}

func transfer(ctx context.Context, routes ...processor.TransferRoute) error {
	ok, err := New().Transfer.Process(ctx, processor.TransferInput{Routes: routes})
	if err == nil && !ok {
		return errors.New("transfer returned false without an error")
	}
	return err
}

func TestTransferRunsRoutesInOrder(t *testing.T) {
	dir := t.TempDir()
	sealed, cache := filepath.Join(dir, "local/sealed/s"), filepath.Join(dir, "local/cache/s")
	storetest.WriteFile(t, sealed, "replica")
	storetest.WriteFile(t, filepath.Join(cache, "p_aux"), "aux")
	persisted, persistedCache := filepath.Join(dir, "store/sealed/s"), filepath.Join(dir, "store/cache/s")
	linked := filepath.Join(dir, "update/sealed/s")

	// The last route reads what the first one wrote: it only works when they run in order.
	err := transfer(context.Background(),
		route(sealed, persisted, nil),
		route(cache, persistedCache, &processor.TransferOption{IsDir: true}),
		route(persisted, linked, &processor.TransferOption{AllowLink: true}),
	)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(persisted); err != nil || !st.Mode().IsRegular() || storetest.ReadFile(t, persisted) != "replica" {
		t.Fatalf("a route without options did not copy the file: %v", err)
	}
	if storetest.ReadFile(t, filepath.Join(persistedCache, "p_aux")) != "aux" {
		t.Fatal("the directory route did not copy the directory")
	}
	if target, err := os.Readlink(linked); err != nil || target != persisted {
		t.Fatalf("allow_link route made %q (%v), want a symlink to %q", target, err, persisted)
	}
}

func TestTransferStopsAtTheFirstError(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	storetest.WriteFile(t, src, "x")
	first, missing, second, after := filepath.Join(dir, "a"), filepath.Join(dir, "missing"), filepath.Join(dir, "b"), filepath.Join(dir, "after")

	err := transfer(context.Background(), route(src, first, nil), route(missing, second, nil), route(src, after, nil))
	want := "transfer route 1 (" + missing + " -> " + second + "): "
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("got %v, want an error starting %q and saying why", err, want)
	}
	if storetest.ReadFile(t, first) != "x" {
		t.Fatal("the route before the failed one did not run")
	}
	if _, err := os.Lstat(after); !os.IsNotExist(err) {
		t.Fatal("a route after the failed one ran")
	}
}

func TestTransferHonoursCancellation(t *testing.T) {
	dir := t.TempDir()
	src, dest := filepath.Join(dir, "src"), filepath.Join(dir, "d")
	storetest.WriteFile(t, src, "x")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A link: linking does not look at the context, so only the processor can have stopped it.
	if err := transfer(ctx, route(src, dest, &processor.TransferOption{AllowLink: true})); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if _, err := os.Lstat(dest); !os.IsNotExist(err) {
		t.Fatal("a cancelled task ran a route")
	}
}
