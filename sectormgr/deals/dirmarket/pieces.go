package dirmarket

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/ipfs/go-cid"
)

// PieceStoreHandler serves GET /piecestore/<piece cid> with the payload of the deal with that
// piece CID: 405 for another method, 400 for an invalid CID, 404 for a CID that is no deal's or
// whose file is gone. Mount it at /piecestore/.
func (m *Market) PieceStoreHandler() http.Handler {
	return http.HandlerFunc(m.servePiece)
}

// PieceRequest checks a GET /piecestore/<cid> request and returns its CID; otherwise it has
// answered 405 or 400 and ok is false.
func PieceRequest(w http.ResponseWriter, r *http.Request) (c cid.Cid, ok bool) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, fmt.Sprintf("method %s not allowed: use GET", r.Method), http.StatusMethodNotAllowed)
		return cid.Undef, false
	}
	raw := strings.TrimPrefix(r.URL.Path, "/piecestore/")
	c, err := cid.Decode(raw)
	if err != nil {
		http.Error(w, fmt.Sprintf("invalid piece cid %q: %v", raw, err), http.StatusBadRequest)
		return cid.Undef, false
	}
	return c, true
}

// NoDeal answers 404 for a piece that is no deal's.
func NoDeal(w http.ResponseWriter, c cid.Cid) {
	http.Error(w, fmt.Sprintf("piece %s not found: no deal has it", c), http.StatusNotFound)
}

func (m *Market) servePiece(w http.ResponseWriter, r *http.Request) {
	c, ok := PieceRequest(w, r)
	if !ok {
		return
	}
	d := m.byCID[c]
	if d == nil {
		NoDeal(w, c)
		return
	}
	// The paths and errors go to the log only: the client (any token holder) has no business
	// knowing where the manager keeps its files.
	f, err := os.Open(d.path)
	if errors.Is(err, os.ErrNotExist) {
		log.Warnw("the payload file of a deal is gone", "piece", c, "deal", d.ID, "file", d.path)
		http.Error(w, fmt.Sprintf("piece %s not found: the payload file of deal %d is gone (see the manager's log)", c, d.ID), http.StatusNotFound)
		return
	}
	var fi os.FileInfo
	if err == nil {
		defer f.Close()
		fi, err = f.Stat()
	}
	if err != nil {
		log.Warnw("open the payload file of a deal", "piece", c, "deal", d.ID, "err", err)
		http.Error(w, fmt.Sprintf("piece %s: cannot read the payload file of deal %d (see the manager's log)", c, d.ID), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", fmt.Sprint(fi.Size()))
	if _, err := io.Copy(w, f); err != nil {
		log.Warnw("serve piece", "piece", c, "deal", d.ID, "err", err)
	}
}
