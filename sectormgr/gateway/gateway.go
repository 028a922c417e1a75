// Package gateway is the manager's side of the venus-gateway's proof events (venus-shared
// api/gateway/v1, namespace Gateway): the JSON shapes, and a websocket client that listens for
// the WinningPoSt requests the gateway relays from venus-miner and answers them.
package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-jsonrpc"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/network"
	"github.com/filecoin-project/go-state-types/proof"
	"github.com/google/uuid"
)

const (
	// Namespace prefixes every method name: Gateway.ListenProofEvent.
	Namespace = "Gateway"
	// RPCPath is where the gateway serves its v1 API.
	RPCPath = "/rpc/v1"
	// NamespaceHeader and APINamespace are the header venus clients send so that a venus
	// proxy routes the call to the gateway.
	NamespaceHeader = "X-VENUS-API-NAMESPACE"
	APINamespace    = "gateway.IGateway"

	// MethodInitConnect is the first event of a listen: the gateway opened the channel.
	MethodInitConnect = "InitConnect"
	// MethodComputeProof asks for a WinningPoSt.
	MethodComputeProof = "ComputeProof"
)

// ProofRegisterPolicy says which miner's requests a listener takes.
type ProofRegisterPolicy struct {
	MinerAddress address.Address
}

// RequestEvent is one request of the gateway; Payload is the JSON of the method's request.
type RequestEvent struct {
	ID      uuid.UUID `json:"Id"`
	Method  string
	Payload []byte
}

// ResponseEvent answers the request ID: Payload is the JSON of the result, or Error says why
// there is none.
type ResponseEvent struct {
	ID      uuid.UUID `json:"Id"`
	Payload []byte
	Error   string
}

// ConnectedCompleted is the payload of InitConnect.
type ConnectedCompleted struct {
	ChannelId uuid.UUID //nolint:revive // the wire name
}

// ComputeProofRequest is the payload of ComputeProof: the sectors the chain challenged for a
// block at Height, and the randomness. The answer's payload is the JSON of []proof.PoStProof.
type ComputeProofRequest struct {
	SectorInfos []proof.ExtendedSectorInfo
	Rand        abi.PoStRandomness
	Height      abi.ChainEpoch
	NWVersion   network.Version
}

// ProofEvents are the gateway calls of a WinningPoSt listener.
type ProofEvents interface {
	ListenProofEvent(ctx context.Context, policy *ProofRegisterPolicy) (<-chan *RequestEvent, error)
	ResponseProofEvent(ctx context.Context, resp *ResponseEvent) error
}

// Client is one websocket connection to a gateway.
type Client struct {
	endpoint string
	c        struct {
		ListenProofEvent   func(ctx context.Context, policy *ProofRegisterPolicy) (<-chan *RequestEvent, error)
		ResponseProofEvent func(ctx context.Context, resp *ResponseEvent) error
	}
	closer jsonrpc.ClientCloser
}

var _ ProofEvents = (*Client)(nil)

// Dial connects to the gateway at endpoint (a ws(s) URL ending in /rpc/v1), sending token as
// `Authorization: Bearer <token>` when it is not empty. The connection is closed by Close, or
// when ctx ends.
func Dial(ctx context.Context, endpoint, token string) (*Client, error) {
	header := http.Header{}
	header.Set(NamespaceHeader, APINamespace)
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	cl := &Client{endpoint: endpoint}
	closer, err := jsonrpc.NewMergeClient(ctx, endpoint, Namespace, []interface{}{&cl.c}, header)
	if err != nil {
		if strings.Contains(err.Error(), "bad handshake") {
			// go-jsonrpc drops the status; a refused token and a server that is not a gateway
			// both end here.
			return nil, fmt.Errorf("gateway %s: %w (the server refused the websocket: check [Common.API] Token, "+
				"and that [Common.API] Gateway names a venus-gateway)", endpoint, err)
		}
		return nil, fmt.Errorf("gateway %s: %w", endpoint, err)
	}
	cl.closer = closer
	return cl, nil
}

// Endpoint is where the gateway is reached.
func (c *Client) Endpoint() string { return c.endpoint }

// Close ends the connection; a listen's channel closes with it.
func (c *Client) Close() { c.closer() }

// ListenProofEvent registers for the policy's miner; the channel closes when the connection does.
func (c *Client) ListenProofEvent(ctx context.Context, policy *ProofRegisterPolicy) (<-chan *RequestEvent, error) {
	ch, err := c.c.ListenProofEvent(ctx, policy)
	if err != nil {
		return nil, fmt.Errorf("gateway %s: %s.ListenProofEvent: %w", c.endpoint, Namespace, err)
	}
	return ch, nil
}

// ResponseProofEvent answers a request.
func (c *Client) ResponseProofEvent(ctx context.Context, resp *ResponseEvent) error {
	if err := c.c.ResponseProofEvent(ctx, resp); err != nil {
		return fmt.Errorf("gateway %s: %s.ResponseProofEvent: %w", c.endpoint, Namespace, err)
	}
	return nil
}
