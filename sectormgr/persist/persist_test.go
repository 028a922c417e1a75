package persist

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sectors"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/statedb"
)

var ctx = context.Background()

func TestOpenRefusesBadStores(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	writeFile(t, file, 1)
	missing := filepath.Join(dir, "nope")
	cases := []struct {
		name   string
		stores []config.PersistStoreConfig
		want   string
	}{
		{"missing directory", []config.PersistStoreConfig{{Name: "store1", Path: missing}},
			"persist store store1: directory " + missing + " does not exist: create it or attach the storage there, or fix Path in [[Common.PersistStores]]"},
		{"missing directory, default name", []config.PersistStoreConfig{{Path: missing}},
			"persist store " + missing + ": directory " + missing + " does not exist: create it or attach the storage there, or fix Path in [[Common.PersistStores]]"},
		{"not a directory", []config.PersistStoreConfig{{Name: "store1", Path: file}},
			"persist store store1: " + file + " is not a directory: point Path in [[Common.PersistStores]] at the store's directory"},
		{"plugin", []config.PersistStoreConfig{{Name: "store1", Path: dir, Plugin: "/opt/objstore.so"}},
			"objstore plugins are not supported; remove Plugin from [[Common.PersistStores]] store1"},
		{"no path", []config.PersistStoreConfig{{Name: "store1"}},
			`[[Common.PersistStores]] #0 (Name "store1") has no Path: set it to the store's directory`},
		{"duplicate name", []config.PersistStoreConfig{{Name: "store1", Path: dir}, {Name: "other", Path: dir}, {Name: "store1", Path: filepath.Join(dir, ".")}},
			`persist store name "store1" is used twice in [[Common.PersistStores]] (paths ` + dir + " and " + dir + "): give each store its own Name"},
		{"same path, default names", []config.PersistStoreConfig{{Path: dir}, {Path: dir + "/"}},
			`persist store name "` + dir + `" is used twice in [[Common.PersistStores]] (paths ` + dir + " and " + dir + "): give each store its own Name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Open(c.stores, f.db, f.sectors, f.options()...)
			if m != nil {
				t.Errorf("Open returned a manager")
			}
			wantErr(t, "Open", err, c.want)
		})
	}
}

func TestNameDefaultsToTheAbsolutePath(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "store"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	m := f.open(t, config.PersistStoreConfig{Path: "store"})
	abs := filepath.Join(dir, "store")
	info, err := m.StoreBasicInfo(ctx, abs)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := jsonOf(t, info), `{"Name":"`+abs+`","Path":"`+abs+`","Meta":{}}`; got != want {
		t.Errorf("StoreBasicInfo = %s, want %s", got, want)
	}
	if info, _ := m.StoreBasicInfo(ctx, "store"); info != nil {
		t.Errorf("StoreBasicInfo(relative path) = %+v, want null", info)
	}
}

func TestStoreBasicInfo(t *testing.T) {
	f := newFixture(t)
	cfg := f.storeDir(t, "store1")
	cfg.Meta = map[string]string{"b": "2", "a": "1"}
	m := f.open(t, cfg)

	info, err := m.StoreBasicInfo(ctx, "store1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := jsonOf(t, info), `{"Name":"store1","Path":"`+cfg.Path+`","Meta":{"a":"1","b":"2"}}`; got != want {
		t.Errorf("StoreBasicInfo = %s, want %s", got, want)
	}
	info.Meta["a"] = "changed"
	again, _ := m.StoreBasicInfo(ctx, "store1")
	if again.Meta["a"] != "1" {
		t.Errorf("a caller's change of Meta reached the configuration: %v", again.Meta)
	}

	info, err = m.StoreBasicInfo(ctx, "store2")
	if info != nil || err != nil {
		t.Errorf("StoreBasicInfo(unknown) = %+v, %v; want null, nil", info, err)
	}
	if got := jsonOf(t, info); got != "null" {
		t.Errorf("StoreBasicInfo(unknown) encodes as %s, want null", got)
	}
}

func TestStoreList(t *testing.T) {
	f := newFixture(t)
	s1 := f.storeDir(t, "store1")
	s1.Meta = map[string]string{"k": "v"}
	s2 := f.storeDir(t, "store2")
	broken := f.storeDir(t, "broken")
	delete(f.disks, broken.Path)
	m := f.open(t, s1, broken, s2)

	// Reservations out of order: At 1700000000 for sectors 3 and 2, then 1700000100 for 1.
	summary := `{"Stats":{"store1":{"ReservedSize":12288,"Reserved":{` +
		`"s-t010000-1":{"By":"s-t010000-1","Size":4096,"At":1700000100},` +
		`"s-t010000-3":{"By":"s-t010000-3","Size":4096,"At":1700000000},` +
		`"s-t010000-2":{"By":"s-t010000-2","Size":4096,"At":1700000000}}}}}`
	if err := f.db.Update(func(tx statedb.Txn) error { return tx.Put(ReserveSummaryKey, []byte(summary)) }); err != nil {
		t.Fatal(err)
	}
	f.disks[s1.Path] = DiskUsage{Type: "xfs", Total: 2000000000000, Free: 500000000000, Used: 1500000000000, UsedPercent: 75}

	list, err := m.StoreList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"Name":"store1","Path":"` + s1.Path + `","Meta":{"k":"v"},"Type":"xfs","Total":2000000000000,"Free":500000000000,"Used":1500000000000,"UsedPercent":75,` +
		`"Reserved":12288,"ReservedBy":[{"By":"s-t010000-2","Size":4096,"At":1700000000},{"By":"s-t010000-3","Size":4096,"At":1700000000},{"By":"s-t010000-1","Size":4096,"At":1700000100}]},` +
		`{"Name":"store2","Path":"` + s2.Path + `","Meta":{},"Type":"xfs","Total":1099511627776,"Free":1099511627776,"Used":0,"UsedPercent":0,"Reserved":0,"ReservedBy":[]}]`
	if got := jsonOf(t, list); got != want {
		t.Errorf("StoreList =\n%s\nwant\n%s", got, want)
	}

	var out strings.Builder
	if err := WriteStoreList(&out, list, clock.Add(200e9)); err != nil {
		t.Fatal(err)
	}
	wantText := "store1:\n\tPath: " + s1.Path + "\n\tType: xfs\n\tTotal: 1.819TiB\n\tFree: 465.7GiB\n\tUsed: 1.364TiB\n\tUsedPercent: 75.00%\n\tReserved: 12KiB\n" +
		"\tReserved Items:\n\t\t#0: s-t010000-2, 4KiB, 3m20s ago\n\t\t#1: s-t010000-3, 4KiB, 3m20s ago\n\t\t#2: s-t010000-1, 4KiB, 1m40s ago\n\n" +
		"store2:\n\tPath: " + s2.Path + "\n\tType: xfs\n\tTotal: 1TiB\n\tFree: 1TiB\n\tUsed: 0B\n\tUsedPercent: 0.00%\n\tReserved: 0B\n\n"
	if out.String() != wantText {
		t.Errorf("WriteStoreList =\n%q\nwant\n%q", out.String(), wantText)
	}
}

func TestWriteStoreListEmpty(t *testing.T) {
	var out strings.Builder
	if err := WriteStoreList(&out, nil, clock); err != nil {
		t.Fatal(err)
	}
	if out.String() != "No Stores\n" {
		t.Errorf("WriteStoreList(empty) = %q", out.String())
	}
}

func TestBytesSize(t *testing.T) {
	for in, want := range map[float64]string{
		0: "0B", 1023: "1023B", 2048: "2KiB", 1536: "1.5KiB", 34359738368: "32GiB", 2000000000000: "1.819TiB",
	} {
		if got := BytesSize(in); got != want {
			t.Errorf("BytesSize(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestDiskUsageOfARealDirectory(t *testing.T) {
	u, err := diskUsage(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if u.Total == 0 || u.Free > u.Total || u.Used > u.Total || u.Type == "" || u.UsedPercent < 0 || u.UsedPercent > 100 {
		t.Errorf("diskUsage = %+v", u)
	}
	if _, err := diskUsage(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("diskUsage of a missing directory succeeded")
	}
}

// Reservations and the sector index are in the statedb: a manager opened again on the same home
// sees them.
func TestStateSurvivesReopen(t *testing.T) {
	home := t.TempDir()
	f := newFixture(t)
	cfg := f.storeDir(t, "store1")
	other := f.storeDir(t, "store2")

	openHome := func() (statedb.DB, *Manager) {
		db, err := statedb.OpenHome(home)
		if err != nil {
			t.Fatal(err)
		}
		f.db, f.sectors = db, sectors.New(db)
		return db, f.open(t, cfg, other)
	}

	db, m := openHome()
	sid := f.allocate(t, miner, proof2K)
	f.next = 0
	if got, err := m.StoreReserveSpace(ctx, sid, 4096, nil); storeName(got) != "store1" || err != nil {
		t.Fatalf("StoreReserveSpace = %s, %v", storeName(got), err)
	}
	writeSector(t, cfg.Path, sid, 2<<10, false)
	if ok, err := m.SubmitPersisted(ctx, sid, "store1"); !ok || err != nil {
		t.Fatalf("SubmitPersisted = %v, %v", ok, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, m = openHome()
	defer db.Close()
	want := `{"Stats":{"store1":{"ReservedSize":4096,"Reserved":{"s-t010000-1":{"By":"s-t010000-1","Size":4096,"At":1700000000}}}}}`
	if got := f.summary(t); got != want {
		t.Errorf("summary after reopen = %s, want %s", got, want)
	}
	list, err := m.StoreList(ctx)
	if err != nil || len(list) != 2 || list[0].Reserved != 4096 || len(list[0].ReservedBy) != 1 {
		t.Errorf("StoreList after reopen = %+v, %v", list, err)
	}
	f.next = 1 // would pick store2 if the reservation were forgotten
	if got, err := m.StoreReserveSpace(ctx, sid, 4096, nil); storeName(got) != "store1" || err != nil {
		t.Errorf("StoreReserveSpace again after reopen = %s, %v; want store1", storeName(got), err)
	}
	files, found, err := m.Locate(sid, false)
	if err != nil || !found || files.SealedFile != filepath.Join(cfg.Path, "sealed", "s-t010000-1") {
		t.Errorf("Locate after reopen = %+v, %v, %v", files, found, err)
	}
	if released, err := m.StoreReleaseReserved(ctx, sid); !released || err != nil {
		t.Errorf("StoreReleaseReserved after reopen = %v, %v", released, err)
	}
}
