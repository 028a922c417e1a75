package piecestore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/filecoin-project/go-state-types/abi"
	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/piece"
	"github.com/ipfs-force-community/venus-cluster-go/piece/fr32"
	"github.com/ipfs-force-community/venus-cluster-go/worker/piecestore"
	"github.com/ipfs-force-community/venus-cluster-go/worker/sealing"
)

var _ sealing.PieceWriter = (*piecestore.Store)(nil)

// testDeal is a deal over random payload bytes, with its real piece CID.
func testDeal(t *testing.T, id abi.DealID, payloadSize uint64) (api.DealInfo, []byte) {
	t.Helper()
	payload := make([]byte, payloadSize)
	rand.Read(payload)
	size := piece.SizeFor(payloadSize)
	_, c, err := piece.CommP(context.Background(), bytes.NewReader(payload), payloadSize, size)
	if err != nil {
		t.Fatal(err)
	}
	return api.DealInfo{ID: id, PayloadSize: payloadSize, Piece: api.PieceInfo{Size: size, Cid: c}}, payload
}

// padded is what a piece of payload looks like in a staged file: the payload zero-padded to the
// piece's unpadded size, fr32-padded.
func padded(payload []byte, size abi.PaddedPieceSize) []byte {
	in := make([]byte, size.Unpadded())
	copy(in, payload)
	out := make([]byte, size)
	fr32.Pad(out, in)
	return out
}

// request is what a test server saw.
type request struct {
	Path, Query, Auth string
}

type recorder struct {
	mu   sync.Mutex
	seen []request
}

func (r *recorder) record(req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, request{req.URL.Path, req.URL.RawQuery, req.Header.Get("Authorization")})
}

func (r *recorder) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.seen...)
}

// manager serves /piecestore/<cid> with handle; it records every request.
func manager(t *testing.T, handle func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.record(r)
		handle(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

func TestWritePieceFromTheManager(t *testing.T) {
	deal, payload := testDeal(t, 7, 700)
	srv, rec := manager(t, func(w http.ResponseWriter, r *http.Request) { w.Write(payload) })
	// The worker's own token goes to the manager, which asks for one under auth; the piece token
	// is the market's and stays with the worker.
	s := piecestore.New(srv.URL+"/", "worker-token", "piece-token")

	var staged bytes.Buffer
	staged.WriteString("earlier piece|")
	pi, err := s.WritePiece(context.Background(), &staged, deal)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := piece.FromCID(deal.Piece.Cid)
	if pi.Commitment != want || pi.Size != deal.Piece.Size.Unpadded() || pi.Size != 1016 {
		t.Errorf("piece info = %+v, want commitment %x size 1016", pi, want)
	}
	if got := staged.Bytes(); !bytes.Equal(got, append([]byte("earlier piece|"), padded(payload, 1024)...)) {
		t.Errorf("staged %d bytes, want the earlier bytes then the 1024 padded bytes of the piece", len(got))
	}
	wantReq := []request{{Path: "/piecestore/" + deal.Piece.Cid.String(), Auth: "Bearer worker-token"}}
	if got := rec.requests(); fmt.Sprint(got) != fmt.Sprint(wantReq) {
		t.Errorf("requests = %+v, want %+v", got, wantReq)
	}
}

// The manager redirects to the market, which wants the piece token and redirects once more.
func TestRedirectIsFollowedWithThePieceToken(t *testing.T) {
	deal, payload := testDeal(t, 3, 1000)
	market, marketRec := manager(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer piece-token" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/resource" {
			http.Redirect(w, r, "/blob/"+r.URL.Query().Get("resource-id"), http.StatusFound)
			return
		}
		w.Write(payload)
	})
	srv, rec := manager(t, func(w http.ResponseWriter, r *http.Request) {
		c := strings.TrimPrefix(r.URL.Path, "/piecestore/")
		http.Redirect(w, r, market.URL+"/resource?resource-id="+c, http.StatusFound)
	})

	var staged bytes.Buffer
	pi, err := piecestore.New(srv.URL, "worker-token", "piece-token").WritePiece(context.Background(), &staged, deal)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(staged.Bytes(), padded(payload, deal.Piece.Size)) || pi.Size != 1016 {
		t.Errorf("staged %d bytes, piece %+v", staged.Len(), pi)
	}
	c := deal.Piece.Cid.String()
	if got, want := rec.requests(), []request{{Path: "/piecestore/" + c, Auth: "Bearer worker-token"}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("manager saw %+v, want %+v (the worker's token, not the piece token; no redirect followed)", got, want)
	}
	want := []request{{"/resource", "resource-id=" + c, "Bearer piece-token"}, {"/blob/" + c, "", "Bearer piece-token"}}
	if got := marketRec.requests(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("market saw %+v, want %+v", got, want)
	}

	// Without a token configured none is sent, and the market's refusal is the error.
	_, err = piecestore.New(srv.URL, "", "").WritePiece(context.Background(), io.Discard, deal)
	if want := fmt.Sprintf("get resource %s failed invalid status code 401", c); err == nil || err.Error() != want {
		t.Errorf("without a token: err = %v, want %q", err, want)
	}
	if got := marketRec.requests(); len(got) != 3 || got[2].Auth != "" {
		t.Errorf("market saw %+v; want a third request without Authorization", got)
	}
}

func TestBadStatusIsAnError(t *testing.T) {
	deal, _ := testDeal(t, 1, 300)
	for _, status := range []int{http.StatusNotFound, http.StatusInternalServerError, http.StatusNotModified} {
		srv, _ := manager(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
		var staged bytes.Buffer
		_, err := piecestore.New(srv.URL, "", "").WritePiece(context.Background(), &staged, deal)
		want := fmt.Sprintf("get resource %s failed invalid status code %d", deal.Piece.Cid, status)
		if status == http.StatusNotModified {
			// A redirect status without a Location cannot be followed.
			want = fmt.Sprintf("get resource %s: redirect (status code 304) without a usable Location: http: no Location header in response", deal.Piece.Cid)
		}
		if err == nil || err.Error() != want {
			t.Errorf("status %d: err = %v, want %q", status, err, want)
		}
		if staged.Len() != 0 {
			t.Errorf("status %d: %d bytes staged", status, staged.Len())
		}
	}
}

func TestShortBodyIsAnError(t *testing.T) {
	deal, payload := testDeal(t, 2, 508)
	srv, _ := manager(t, func(w http.ResponseWriter, r *http.Request) { w.Write(payload[:500]) })
	_, err := piecestore.New(srv.URL, "", "").WritePiece(context.Background(), io.Discard, deal)
	if err == nil || !strings.Contains(err.Error(), "piece payload ended after 500 of its 508 bytes") ||
		!strings.HasPrefix(err.Error(), "piece "+deal.Piece.Cid.String()+": ") {
		t.Fatalf("err = %v", err)
	}
}

// Bytes past the payload size are not the piece's: they are not read.
func TestLongerBodyIsCutAtThePayloadSize(t *testing.T) {
	deal, payload := testDeal(t, 2, 254)
	srv, _ := manager(t, func(w http.ResponseWriter, r *http.Request) { w.Write(append(payload, "trailing"...)) })
	var staged bytes.Buffer
	if _, err := piecestore.New(srv.URL, "", "").WritePiece(context.Background(), &staged, deal); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(staged.Bytes(), padded(payload, 256)) {
		t.Fatal("staged piece differs from the padded payload")
	}
}

func TestCIDMismatchNamesTheDealAndBothCIDs(t *testing.T) {
	deal, payload := testDeal(t, 42, 700)
	changed := append([]byte(nil), payload...)
	changed[100] ^= 0xff
	_, got, err := piece.CommP(context.Background(), bytes.NewReader(changed), 700, 1024)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := manager(t, func(w http.ResponseWriter, r *http.Request) { w.Write(changed) })
	_, err = piecestore.New(srv.URL, "", "").WritePiece(context.Background(), io.Discard, deal)
	want := fmt.Sprintf("piece data of deal 42 does not match the deal: it commits to %s, the deal's piece CID is %s", got, deal.Piece.Cid)
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestInvalidDealsFailBeforeFetching(t *testing.T) {
	deal, _ := testDeal(t, 5, 300)
	srv, rec := manager(t, func(w http.ResponseWriter, r *http.Request) {})
	s := piecestore.New(srv.URL, "", "")
	notPiece, _ := cid.Decode("bafkqaaa") // identity CID of nothing
	cases := []struct {
		name string
		edit func(d *api.DealInfo)
		want string
	}{
		{"payload too large", func(d *api.DealInfo) { d.PayloadSize = 509 }, "payload size 509 of deal 5 is larger than its piece holds (512 padded bytes, 508 bytes of data)"},
		{"invalid size", func(d *api.DealInfo) { d.Piece.Size = 1000 }, "invalid padded piece size 1000"},
		{"not a piece CID", func(d *api.DealInfo) { d.Piece.Cid = notPiece }, "piece CID of deal 5: bafkqaaa is not a piece CID"},
	}
	for _, c := range cases {
		d := deal
		c.edit(&d)
		_, err := s.WritePiece(context.Background(), io.Discard, d)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want prefix %q", c.name, err, c.want)
		}
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("%d requests for invalid deals", n)
	}
}

func TestUnreachableManager(t *testing.T) {
	srv, _ := manager(t, func(w http.ResponseWriter, r *http.Request) {})
	url := srv.URL
	srv.Close()
	deal, _ := testDeal(t, 1, 100)
	_, err := piecestore.New(url, "", "").WritePiece(context.Background(), io.Discard, deal)
	if err == nil || !strings.HasPrefix(err.Error(), "get resource "+deal.Piece.Cid.String()+": Get \""+url+"/piecestore/") ||
		!strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v", err)
	}
}
