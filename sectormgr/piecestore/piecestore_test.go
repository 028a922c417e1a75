package piecestore

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
)

// Piece CIDs of the 2KiB, 4KiB and 8KiB zero pieces.
const (
	piece2K = "baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy"
	piece4K = "baga6ea4seaqarrd3hdxbhpcd6qnzcxao5wmrditaq2z62ysadp45lc4ndhp7mja"
	piece8K = "baga6ea4seaqlfzd37mi7vtmud5rk6xdvb47kltcn6ul5lrhrnwzljv33v3a2gly"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// twoStores has piece2K in both stores (different bytes) and piece4K in the second only.
func twoStores(t *testing.T) []config.PieceStoreConfig {
	t.Helper()
	a, b := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(a, piece2K), "piece 2K from a")
	writeFile(t, filepath.Join(b, piece2K), "piece 2K from b")
	writeFile(t, filepath.Join(b, piece4K), "piece 4K from b")
	return []config.PieceStoreConfig{{Name: "a", Path: a}, {Name: "b", Path: b}}
}

func get(t *testing.T, h http.Handler, method, target string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func TestServesTheFirstStoreHoldingThePiece(t *testing.T) {
	h := Handler(twoStores(t), "http://127.0.0.1:41235")
	for target, want := range map[string]string{
		Route + piece2K: "piece 2K from a",
		Route + piece4K: "piece 4K from b",
	} {
		resp := get(t, h, http.MethodGet, target)
		if got := body(t, resp); resp.StatusCode != http.StatusOK || got != want {
			t.Errorf("GET %s = %d %q, want 200 %q", target, resp.StatusCode, got, want)
		}
		if ct, cl := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Length"); ct != "application/octet-stream" || cl != "15" {
			t.Errorf("GET %s: Content-Type %q, Content-Length %q", target, ct, cl)
		}
	}
	// http.ServeContent answers ranges, so an interrupted download can resume.
	resp := get(t, h, http.MethodGet, Route+piece4K, "Range", "bytes=6-7")
	if got := body(t, resp); resp.StatusCode != http.StatusPartialContent || got != "4K" {
		t.Errorf("GET with a range = %d %q, want 206 \"4K\"", resp.StatusCode, got)
	}
}

func TestRefusesOtherMethods(t *testing.T) {
	h := Handler(twoStores(t), "")
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodHead} {
		resp := get(t, h, method, Route+piece2K)
		got := body(t, resp)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
			t.Errorf("%s: status %d, Allow %q", method, resp.StatusCode, resp.Header.Get("Allow"))
		}
		if method != http.MethodHead && got != "method "+method+" not allowed: use GET\n" {
			t.Errorf("%s: body %q", method, got)
		}
	}
}

func TestRefusesAnInvalidCID(t *testing.T) {
	h := Handler(twoStores(t), "http://127.0.0.1:41235")
	for target, want := range map[string]string{
		Route + "nope":        "invalid piece cid \"nope\": invalid cid: selected encoding not supported\n",
		Route:                 "invalid piece cid \"\": invalid cid: cid too short\n",
		Route + piece2K + "/": "invalid piece cid \"" + piece2K + "/\": invalid cid: illegal base32 data at input byte 63\n",
	} {
		resp := get(t, h, http.MethodGet, target)
		if got := body(t, resp); resp.StatusCode != http.StatusBadRequest || got != want {
			t.Errorf("GET %s = %d %q, want 400 %q", target, resp.StatusCode, got, want)
		}
	}
}

func TestUnknownPieceGoesToTheMarket(t *testing.T) {
	stores := twoStores(t)
	const missing = piece8K
	for _, market := range []string{"http://127.0.0.1:41235", "http://127.0.0.1:41235/"} {
		resp := get(t, Handler(stores, market), http.MethodGet, Route+missing)
		body(t, resp)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != "http://127.0.0.1:41235/resource?resource-id="+missing {
			t.Errorf("market %s: %d Location %q", market, resp.StatusCode, loc)
		}
	}
}

func TestUnknownPieceWithoutMarketIsNotFound(t *testing.T) {
	stores := twoStores(t)
	// A directory named after the piece is no piece file.
	const missing = piece8K
	if err := os.Mkdir(filepath.Join(stores[0].Path, missing), 0o755); err != nil {
		t.Fatal(err)
	}
	resp := get(t, Handler(stores, ""), http.MethodGet, Route+missing)
	got := body(t, resp)
	if want := "piece " + missing + " not found in any piece store\n"; resp.StatusCode != http.StatusNotFound || got != want {
		t.Errorf("GET unknown piece = %d %q, want 404 %q", resp.StatusCode, got, want)
	}
}

// Nothing outside a store's directory can be named: the path must parse as a CID, and the file
// name is the CID's own string.
func TestNoPathTraversal(t *testing.T) {
	root := t.TempDir()
	store := filepath.Join(root, "store")
	writeFile(t, filepath.Join(store, piece2K), "piece")
	writeFile(t, filepath.Join(root, "secret"), "SECRET")
	writeFile(t, filepath.Join(root, piece4K), "SECRET")
	h := Handler([]config.PieceStoreConfig{{Name: "s", Path: store}}, "")

	for _, target := range []string{
		Route + "../secret",
		Route + "..%2Fsecret",
		Route + "%2e%2e%2fsecret",
		Route + "%2E%2E/" + piece4K,
		Route + "../" + piece4K,
		Route + piece2K + "/../../secret",
		Route + piece2K + "%2F..%2F..%2Fsecret",
		Route + "%2F" + filepath.Join(root, "secret"),
	} {
		resp := get(t, h, http.MethodGet, target)
		got := body(t, resp)
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(got, "SECRET") {
			t.Errorf("GET %s = %d %q, want 400", target, resp.StatusCode, got)
		}
	}

	// Through a real server and mux too, with the raw path sent as written.
	mux := http.NewServeMux()
	mux.Handle(Route, h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, raw := range []string{"/piecestore/..%2Fsecret", "/piecestore/%2e%2e/" + piece4K, "/piecestore/../" + piece4K} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(conn, "GET "+raw+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		reply, err := io.ReadAll(conn)
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(reply), "SECRET") || strings.HasPrefix(string(reply), "HTTP/1.1 200") {
			t.Errorf("raw GET %s answered:\n%s", raw, reply)
		}
	}
}

func TestPluginStoresAreSkipped(t *testing.T) {
	stores := twoStores(t)
	stores[0].Plugin = "/opt/objstore.so"
	resp := get(t, Handler(stores, ""), http.MethodGet, Route+piece2K)
	if got := body(t, resp); got != "piece 2K from b" {
		t.Errorf("GET = %d %q, want the second store's file", resp.StatusCode, got)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	writeFile(t, file, "x")
	missing := filepath.Join(dir, "nope")
	if err := Check([]config.PieceStoreConfig{{Name: "p", Path: dir}, {Path: dir}}); err != nil {
		t.Errorf("Check(good stores) = %v", err)
	}
	for _, c := range []struct {
		store config.PieceStoreConfig
		want  string
	}{
		{config.PieceStoreConfig{Name: "p", Path: dir, Plugin: "x.so"}, "objstore plugins are not supported; remove Plugin from [[Common.PieceStores]] p"},
		{config.PieceStoreConfig{Name: "p"}, `[[Common.PieceStores]] #0 (Name "p") has no Path: set it to the directory of the piece files`},
		{config.PieceStoreConfig{Path: missing}, "piece store " + missing + ": directory " + missing + " does not exist: create it, or fix Path in [[Common.PieceStores]]"},
		{config.PieceStoreConfig{Name: "p", Path: file}, "piece store p: " + file + " is not a directory: point Path in [[Common.PieceStores]] at the directory of the piece files"},
	} {
		if err := Check([]config.PieceStoreConfig{c.store}); err == nil || err.Error() != c.want {
			t.Errorf("Check(%+v) = %v\nwant %s", c.store, err, c.want)
		}
	}
}

func TestMarketOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"":                                       "",
		"/ip4/127.0.0.1/tcp/41235":               "http://127.0.0.1:41235",
		"eyJhbGciOi.tok:/ip4/10.0.0.2/tcp/41235": "http://10.0.0.2:41235",
		"/dns4/market.example/tcp/443/https":     "https://market.example:443",
		"ws://10.0.0.3:41235/rpc/v0":             "http://10.0.0.3:41235",
	} {
		if got, err := MarketOrigin(in); got != want || err != nil {
			t.Errorf("MarketOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := MarketOrigin("/ip4/300.0.0.1/tcp/1"); err == nil {
		t.Error("MarketOrigin(invalid multiaddr) succeeded")
	}
}
