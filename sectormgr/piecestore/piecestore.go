// Package piecestore is the manager's piece-store proxy (spec/sector-manager.md §4.9): GET
// /piecestore/<piece cid> streams the piece file of that name from the first local
// [[Common.PieceStores]] directory holding it, or sends the worker to the market's resource
// endpoint. Workers with enable_deals fetch deal data through it.
package piecestore

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/logging"
	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/config"
)

var log = logging.Logger("piecestore")

// Route is where the handler is mounted; it expects request paths /piecestore/<cid>.
const Route = "/piecestore/"

// localStore is a piece store directory, its path absolute.
type localStore struct {
	name string
	dir  string
}

type handler struct {
	stores []localStore
	// resource is <market origin>/resource, or "" without a market.
	resource string
}

// Handler serves GET /piecestore/<cid>: 405 for another method, 400 for a path that is not a
// CID, the file named <cid> of the first store holding one, else a 302 to
// <marketURL>/resource?resource-id=<cid> when marketURL (an origin such as http://host:41235,
// see MarketOrigin) is set, else 404. The file name is the parsed CID's own string, so a request
// can name nothing but a file directly inside a store. Stores with a Plugin are skipped (Check
// refuses them at start-up).
func Handler(stores []config.PieceStoreConfig, marketURL string) http.Handler {
	h := &handler{}
	for _, s := range stores {
		if s.Plugin != "" {
			log.Warnw("piece store skipped: objstore plugins are not supported", "name", s.Name, "plugin", s.Plugin)
			continue
		}
		ls := localStore{name: s.Name, dir: s.Path}
		if abs, err := filepath.Abs(s.Path); err == nil {
			ls.dir = abs
		}
		if ls.name == "" {
			ls.name = ls.dir
		}
		h.stores = append(h.stores, ls)
	}
	if marketURL != "" {
		h.resource = strings.TrimRight(marketURL, "/") + "/resource"
	}
	return h
}

// Check refuses piece stores the handler cannot serve: a Plugin, no Path, or a Path that is not
// an existing directory.
func Check(stores []config.PieceStoreConfig) error {
	for i, s := range stores {
		name := s.Name
		if name == "" {
			name = s.Path
		}
		if s.Plugin != "" {
			return fmt.Errorf("objstore plugins are not supported; remove Plugin from [[Common.PieceStores]] %s", name)
		}
		if s.Path == "" {
			return fmt.Errorf("[[Common.PieceStores]] #%d (Name %q) has no Path: set it to the directory of the piece files", i, s.Name)
		}
		fi, err := os.Stat(s.Path)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("piece store %s: directory %s does not exist: create it, or fix Path in [[Common.PieceStores]]", name, s.Path)
		}
		if err != nil {
			return fmt.Errorf("piece store %s: %w", name, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("piece store %s: %s is not a directory: point Path in [[Common.PieceStores]] at the directory of the piece files", name, s.Path)
		}
	}
	return nil
}

// MarketOrigin turns [Common.API].Market ("[<token>:]<multiaddr or URL>") into the origin Handler
// redirects to; "" for no market.
func MarketOrigin(market string) (string, error) {
	if strings.TrimSpace(market) == "" {
		return "", nil
	}
	_, addr := config.ParseAPIInfo(market)
	a, err := api.ParseAddr("Common.API.Market", addr)
	if err != nil {
		return "", err
	}
	return a.Origin(), nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, fmt.Sprintf("method %s not allowed: use GET", r.Method), http.StatusMethodNotAllowed)
		return
	}
	raw := strings.TrimPrefix(r.URL.Path, Route)
	c, err := cid.Decode(raw)
	if err != nil {
		http.Error(w, fmt.Sprintf("invalid piece cid %q: %v", raw, err), http.StatusBadRequest)
		return
	}
	name := c.String()
	if h.serveLocal(w, r, name) {
		return
	}
	if h.resource != "" {
		http.Redirect(w, r, h.resource+"?resource-id="+url.QueryEscape(name), http.StatusFound)
		return
	}
	http.Error(w, fmt.Sprintf("piece %s not found in any piece store", name), http.StatusNotFound)
}

// serveLocal streams the file name of the first store holding it as a regular file; false when
// none does. A store that cannot be read is logged and passed over.
func (h *handler) serveLocal(w http.ResponseWriter, r *http.Request, name string) bool {
	for _, s := range h.stores {
		f, err := os.Open(filepath.Join(s.dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			log.Warnw("open piece file", "store", s.name, "piece", name, "err", err)
			continue
		}
		fi, err := f.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			if err != nil {
				log.Warnw("stat piece file", "store", s.name, "piece", name, "err", err)
			}
			f.Close()
			continue
		}
		log.Debugw("serve piece", "store", s.name, "piece", name, "size", fi.Size())
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, name, fi.ModTime(), f)
		f.Close()
		return true
	}
	return false
}
