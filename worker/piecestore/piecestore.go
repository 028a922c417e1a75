// Package piecestore is the worker's proxy piece store (spec/worker.md §10.2): it fetches deal
// payloads from the sector manager's /piecestore/<piece cid> route, following the manager's
// redirect to the market with the piece token, and writes them fr32-padded into a staged sector
// file, checking that they are the deal's piece.
package piecestore

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/ipfs-force-community/venus-cluster-go/api"
	"github.com/ipfs-force-community/venus-cluster-go/piece"
	"github.com/ipfs-force-community/venus-cluster-go/worker/processor"
)

const (
	// ConnectTimeout bounds establishing a connection to the manager or the market.
	ConnectTimeout = 5 * time.Second
	// KeepAlive is the TCP keepalive period of the store's connections.
	KeepAlive = 120 * time.Second
)

// Store fetches pieces from a sector manager. It is safe for concurrent use.
type Store struct {
	origin       string
	managerToken string
	pieceToken   string
	// direct asks the manager and never follows a redirect; follow fetches where it points.
	direct *http.Client
	follow *http.Client
}

// New returns the piece store of the manager at origin (<scheme>://<host>[:<port>]). Each token,
// when not empty, is sent as "Authorization: Bearer <token>" to one place only: managerToken (the
// worker's own, which a manager under auth asks for) to the manager at origin, pieceToken to
// where the manager redirects (the market). Neither goes anywhere else: the worker's token would
// let a market act on the cluster, and the piece token is the market's.
func New(origin, managerToken, pieceToken string) *Store {
	dialer := &net.Dialer{Timeout: ConnectTimeout, KeepAlive: KeepAlive}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = dialer.DialContext
	return &Store{
		origin:       strings.TrimRight(origin, "/"),
		managerToken: managerToken,
		pieceToken:   pieceToken,
		direct: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		follow: &http.Client{Transport: tr},
	}
}

// URL is where the manager serves the piece c.
func (s *Store) URL(c cid.Cid) string { return s.origin + "/piecestore/" + c.String() }

// Get fetches the payload of the piece c: from the manager, or, when the manager answers with a
// redirect, from its Location (further redirects followed) with the piece token. The caller
// closes the body.
func (s *Store) Get(ctx context.Context, c cid.Cid) (io.ReadCloser, error) {
	resp, err := s.get(ctx, s.direct, s.URL(c), s.managerToken)
	if err != nil {
		return nil, fmt.Errorf("get resource %s: %w", c, err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		loc, err := resp.Location()
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("get resource %s: redirect (status code %d) without a usable Location: %w", c, resp.StatusCode, err)
		}
		if resp, err = s.get(ctx, s.follow, loc.String(), s.pieceToken); err != nil {
			return nil, fmt.Errorf("get resource %s from %s: %w", c, loc, err)
		}
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		resp.Body.Close()
		return nil, fmt.Errorf("get resource %s failed invalid status code %d", c, resp.StatusCode)
	}
	return resp.Body, nil
}

func (s *Store) get(ctx context.Context, client *http.Client, url, token string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return client.Do(req)
}

// WritePiece fetches a deal's payload and writes it, zero-padded to the piece's unpadded size and
// fr32-padded, to staged: exactly the piece's padded size. The commitment computed on the way
// must be the deal's piece CID; a mismatch is an error naming the deal and both CIDs. It
// implements sealing.PieceWriter.
func (s *Store) WritePiece(ctx context.Context, staged io.Writer, deal api.DealInfo) (processor.PieceInfo, error) {
	var none processor.PieceInfo
	if err := piece.CheckSize(deal.Piece.Size); err != nil {
		return none, err
	}
	if max := uint64(deal.Piece.Size.Unpadded()); deal.PayloadSize > max {
		return none, fmt.Errorf("payload size %d of deal %d is larger than its piece holds (%d padded bytes, %d bytes of data)",
			deal.PayloadSize, deal.ID, deal.Piece.Size, max)
	}
	want, err := piece.FromCID(deal.Piece.Cid)
	if err != nil {
		return none, fmt.Errorf("piece CID of deal %d: %w", deal.ID, err)
	}
	body, err := s.Get(ctx, deal.Piece.Cid)
	if err != nil {
		return none, err
	}
	defer body.Close()
	comm, err := piece.WritePadded(ctx, staged, body, deal.PayloadSize, deal.Piece.Size)
	if err != nil {
		return none, fmt.Errorf("piece %s: %w", deal.Piece.Cid, err)
	}
	if comm != want {
		return none, fmt.Errorf("piece data of deal %d does not match the deal: it commits to %s, the deal's piece CID is %s",
			deal.ID, piece.CID(comm), deal.Piece.Cid)
	}
	return processor.PieceInfo{Commitment: comm, Size: deal.Piece.Size.Unpadded()}, nil
}
