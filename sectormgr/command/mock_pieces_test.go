package command

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/api"
)

// mock --pieces-dir hands out the files as deals and serves their bytes at /piecestore/<cid>.
func TestMockPiecesDir(t *testing.T) {
	dir := t.TempDir()
	payload := bytes.Repeat([]byte("deal data "), 30)
	if err := os.WriteFile(filepath.Join(dir, "one"), payload, 0o644); err != nil {
		t.Fatal(err)
	}
	addr, stop := startMock(t, "mock", "--miner", "10000", "--sector-size", "2KiB", "--listen", "127.0.0.1:0", "--pieces-dir", dir)
	defer stop()
	c := newClient(t, addr)
	ctx := context.Background()
	s, err := c.AllocateSector(ctx, api.AllocateSectorSpec{})
	if err != nil || s == nil {
		t.Fatalf("AllocateSector = %+v, %v", s, err)
	}
	deals, err := c.AcquireDeals(ctx, s.ID, api.AcquireDealsSpec{})
	if err != nil || len(deals) == 0 || deals[0].ID != 1 || deals[0].PayloadSize != uint64(len(payload)) {
		t.Fatalf("AcquireDeals = %+v, %v", deals, err)
	}

	resp, err := http.Get("http://" + addr + "/piecestore/" + deals[0].Piece.Cid.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, payload) {
		t.Fatalf("GET piece = %d, %q", resp.StatusCode, body)
	}
	resp, err = http.Get("http://" + addr + "/piecestore/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("GET invalid cid = %d", resp.StatusCode)
	}
}

func TestMockPiecesDirErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none")
	big := t.TempDir()
	if err := os.WriteFile(filepath.Join(big, "huge"), make([]byte, 2033), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		dir, want string
	}{
		{missing, "ERROR: invalid --pieces-dir " + missing + ": open " + missing + ": no such file or directory (give a directory holding one file per deal payload)\n"},
		{big, "ERROR: invalid --pieces-dir " + big + ": " + filepath.Join(big, "huge") +
			" is 2033 bytes, more than a 2KiB sector holds (2032 bytes of data): remove it from the pieces dir or use a larger sector size\n"},
	}
	for _, c := range cases {
		var stderr bytes.Buffer
		code := run(context.Background(), []string{"venus-sector-manager", "mock", "--miner", "10000", "--sector-size", "2KiB",
			"--listen", "127.0.0.1:0", "--pieces-dir", c.dir}, io.Discard, &stderr)
		if code != 1 || !strings.HasSuffix(stderr.String(), c.want) {
			t.Errorf("--pieces-dir %s: status %d stderr %q; want 1 and %q", c.dir, code, stderr.String(), c.want)
		}
	}
}
