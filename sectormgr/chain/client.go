package chain

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"time"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-bitfield"
	"github.com/filecoin-project/go-jsonrpc"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/big"
	"github.com/filecoin-project/go-state-types/builtin/v16/miner"
	"github.com/filecoin-project/go-state-types/crypto"
	"github.com/filecoin-project/go-state-types/dline"
	"github.com/filecoin-project/go-state-types/network"
	"github.com/ipfs/go-cid"
)

// Namespace is the JSON-RPC namespace of Lotus's full-node API.
const Namespace = "Filecoin"

// FullNode is every full-node call the manager makes, with Lotus's v1 names and signatures. It
// is implemented by *Node (a real node over JSON-RPC) and by the simulated chain.
type FullNode interface {
	ChainHead(ctx context.Context) (*TipSet, error)
	StateGetNetworkParams(ctx context.Context) (*NetworkParams, error)
	StateNetworkVersion(ctx context.Context, tsk TipSetKey) (network.Version, error)
	StateMinerInfo(ctx context.Context, maddr address.Address, tsk TipSetKey) (MinerInfo, error)
	StateMinerProvingDeadline(ctx context.Context, maddr address.Address, tsk TipSetKey) (*dline.Info, error)
	StateMinerSectorAllocated(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk TipSetKey) (bool, error)
	StateGetRandomnessFromTickets(ctx context.Context, dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte, tsk TipSetKey) (abi.Randomness, error)
	StateGetRandomnessFromBeacon(ctx context.Context, dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte, tsk TipSetKey) (abi.Randomness, error)
	StateSectorPreCommitInfo(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk TipSetKey) (*miner.SectorPreCommitOnChainInfo, error)
	StateSectorGetInfo(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk TipSetKey) (*SectorOnChainInfo, error)
	StateMinerDeadlines(ctx context.Context, maddr address.Address, tsk TipSetKey) ([]Deadline, error)
	StateMinerPartitions(ctx context.Context, maddr address.Address, dlIdx uint64, tsk TipSetKey) ([]Partition, error)
	StateMinerSectors(ctx context.Context, maddr address.Address, sectors *bitfield.BitField, tsk TipSetKey) ([]*SectorOnChainInfo, error)
	StateMinerPreCommitDepositForPower(ctx context.Context, maddr address.Address, pci miner.SectorPreCommitInfo, tsk TipSetKey) (big.Int, error)
	StateMinerInitialPledgeCollateral(ctx context.Context, maddr address.Address, pci miner.SectorPreCommitInfo, tsk TipSetKey) (big.Int, error)
	MpoolPushMessage(ctx context.Context, msg *Message, spec *MessageSendSpec) (*SignedMessage, error)
	StateSearchMsg(ctx context.Context, from TipSetKey, msg cid.Cid, limit abi.ChainEpoch, allowReplaced bool) (*MsgLookup, error)
	StateWaitMsg(ctx context.Context, msg cid.Cid, confidence uint64, limit abi.ChainEpoch, allowReplaced bool) (*MsgLookup, error)
}

// fullNodeClient is the go-jsonrpc client of FullNode: one func field per method, same names and
// signatures (a test keeps them in step).
type fullNodeClient struct {
	ChainHead                          func(ctx context.Context) (*TipSet, error)
	StateGetNetworkParams              func(ctx context.Context) (*NetworkParams, error)
	StateNetworkVersion                func(ctx context.Context, tsk TipSetKey) (network.Version, error)
	StateMinerInfo                     func(ctx context.Context, maddr address.Address, tsk TipSetKey) (MinerInfo, error)
	StateMinerProvingDeadline          func(ctx context.Context, maddr address.Address, tsk TipSetKey) (*dline.Info, error)
	StateMinerSectorAllocated          func(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk TipSetKey) (bool, error)
	StateGetRandomnessFromTickets      func(ctx context.Context, dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte, tsk TipSetKey) (abi.Randomness, error)
	StateGetRandomnessFromBeacon       func(ctx context.Context, dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte, tsk TipSetKey) (abi.Randomness, error)
	StateSectorPreCommitInfo           func(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk TipSetKey) (*miner.SectorPreCommitOnChainInfo, error)
	StateSectorGetInfo                 func(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk TipSetKey) (*SectorOnChainInfo, error)
	StateMinerDeadlines                func(ctx context.Context, maddr address.Address, tsk TipSetKey) ([]Deadline, error)
	StateMinerPartitions               func(ctx context.Context, maddr address.Address, dlIdx uint64, tsk TipSetKey) ([]Partition, error)
	StateMinerSectors                  func(ctx context.Context, maddr address.Address, sectors *bitfield.BitField, tsk TipSetKey) ([]*SectorOnChainInfo, error)
	StateMinerPreCommitDepositForPower func(ctx context.Context, maddr address.Address, pci miner.SectorPreCommitInfo, tsk TipSetKey) (big.Int, error)
	StateMinerInitialPledgeCollateral  func(ctx context.Context, maddr address.Address, pci miner.SectorPreCommitInfo, tsk TipSetKey) (big.Int, error)
	MpoolPushMessage                   func(ctx context.Context, msg *Message, spec *MessageSendSpec) (*SignedMessage, error)
	StateSearchMsg                     func(ctx context.Context, from TipSetKey, msg cid.Cid, limit abi.ChainEpoch, allowReplaced bool) (*MsgLookup, error)
	StateWaitMsg                       func(ctx context.Context, msg cid.Cid, confidence uint64, limit abi.ChainEpoch, allowReplaced bool) (*MsgLookup, error)
}

// CallTimeout bounds every call but StateWaitMsg, so a hung node becomes a temporary error.
const CallTimeout = 30 * time.Second

// callTimeout is CallTimeout; tests shorten it to check that a hung node does not hang a call.
var callTimeout = CallTimeout

// NodeError is a failed full-node call: the node was unreachable or answered an error. The
// manager treats it as temporary (a worker retries the call that led to it).
type NodeError struct {
	Addr   string // the endpoint, e.g. http://127.0.0.1:1234/rpc/v1
	Method string // e.g. Filecoin.ChainHead
	Err    error
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("full node %s: %s: %v", e.Addr, e.Method, e.Err)
}

func (e *NodeError) Unwrap() error { return e.Err }

// Temporary says the call may succeed if tried again.
func (e *NodeError) Temporary() bool { return true }

// IsNodeError tells whether err came from a full-node call.
func IsNodeError(err error) bool {
	var ne *NodeError
	return errors.As(err, &ne)
}

// Node is a Lotus (or venus) full node reached over JSON-RPC. Every error it returns is a
// *NodeError naming the endpoint and the method.
type Node struct {
	endpoint string
	c        fullNodeClient
	closer   jsonrpc.ClientCloser
}

var _ FullNode = (*Node)(nil)

// Dial prepares a client of the node at endpoint (an http(s) URL ending in /rpc/v1), sending
// token as `Authorization: Bearer <token>` when it is not empty. No I/O happens until the
// first call.
func Dial(ctx context.Context, endpoint, token string) (*Node, error) {
	header := http.Header{}
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	n := &Node{endpoint: endpoint}
	closer, err := jsonrpc.NewMergeClient(ctx, endpoint, Namespace, []interface{}{&n.c}, header,
		jsonrpc.WithHTTPClient(&http.Client{Timeout: 2 * callTimeout}), jsonrpc.WithTimeout(2*callTimeout))
	if err != nil {
		return nil, &NodeError{Addr: endpoint, Method: "dial", Err: err}
	}
	n.closer = closer
	return n, nil
}

// Endpoint is where the node is reached.
func (n *Node) Endpoint() string { return n.endpoint }

// Close releases the client.
func (n *Node) Close() {
	if n.closer != nil {
		n.closer()
	}
}

func (n *Node) wrap(method string, err error) error {
	if err == nil {
		return nil
	}
	return &NodeError{Addr: n.endpoint, Method: Namespace + "." + method, Err: err}
}

func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, callTimeout)
}

func (n *Node) ChainHead(ctx context.Context) (*TipSet, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	ts, err := n.c.ChainHead(ctx)
	if err == nil && ts == nil {
		err = errors.New("the node answered null")
	}
	return ts, n.wrap("ChainHead", err)
}

func (n *Node) StateGetNetworkParams(ctx context.Context) (*NetworkParams, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	p, err := n.c.StateGetNetworkParams(ctx)
	if err == nil && p == nil {
		err = errors.New("the node answered null")
	}
	return p, n.wrap("StateGetNetworkParams", err)
}

func (n *Node) StateNetworkVersion(ctx context.Context, tsk TipSetKey) (network.Version, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	v, err := n.c.StateNetworkVersion(ctx, tsk)
	return v, n.wrap("StateNetworkVersion", err)
}

func (n *Node) StateMinerInfo(ctx context.Context, maddr address.Address, tsk TipSetKey) (MinerInfo, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	mi, err := n.c.StateMinerInfo(ctx, maddr, tsk)
	return mi, n.wrap("StateMinerInfo", err)
}

func (n *Node) StateMinerProvingDeadline(ctx context.Context, maddr address.Address, tsk TipSetKey) (*dline.Info, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	di, err := n.c.StateMinerProvingDeadline(ctx, maddr, tsk)
	if err == nil && di == nil {
		err = errors.New("the node answered null")
	}
	return di, n.wrap("StateMinerProvingDeadline", err)
}

func (n *Node) StateMinerSectorAllocated(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk TipSetKey) (bool, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	ok, err := n.c.StateMinerSectorAllocated(ctx, maddr, num, tsk)
	return ok, n.wrap("StateMinerSectorAllocated", err)
}

func (n *Node) StateGetRandomnessFromTickets(ctx context.Context, dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte, tsk TipSetKey) (abi.Randomness, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	r, err := n.c.StateGetRandomnessFromTickets(ctx, dst, epoch, entropy, tsk)
	return r, n.wrap("StateGetRandomnessFromTickets", err)
}

func (n *Node) StateGetRandomnessFromBeacon(ctx context.Context, dst crypto.DomainSeparationTag, epoch abi.ChainEpoch, entropy []byte, tsk TipSetKey) (abi.Randomness, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	r, err := n.c.StateGetRandomnessFromBeacon(ctx, dst, epoch, entropy, tsk)
	return r, n.wrap("StateGetRandomnessFromBeacon", err)
}

// StateSectorPreCommitInfo returns nil and no error when the sector is not pre-committed.
func (n *Node) StateSectorPreCommitInfo(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk TipSetKey) (*miner.SectorPreCommitOnChainInfo, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	pci, err := n.c.StateSectorPreCommitInfo(ctx, maddr, num, tsk)
	return pci, n.wrap("StateSectorPreCommitInfo", err)
}

// StateSectorGetInfo returns nil and no error when the sector is not on chain.
func (n *Node) StateSectorGetInfo(ctx context.Context, maddr address.Address, num abi.SectorNumber, tsk TipSetKey) (*SectorOnChainInfo, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	si, err := n.c.StateSectorGetInfo(ctx, maddr, num, tsk)
	return si, n.wrap("StateSectorGetInfo", err)
}

func (n *Node) StateMinerDeadlines(ctx context.Context, maddr address.Address, tsk TipSetKey) ([]Deadline, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	d, err := n.c.StateMinerDeadlines(ctx, maddr, tsk)
	return d, n.wrap("StateMinerDeadlines", err)
}

func (n *Node) StateMinerPartitions(ctx context.Context, maddr address.Address, dlIdx uint64, tsk TipSetKey) ([]Partition, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	p, err := n.c.StateMinerPartitions(ctx, maddr, dlIdx, tsk)
	return p, n.wrap("StateMinerPartitions", err)
}

// StateMinerSectors returns the miner's sectors in the bitfield (all of them for nil).
func (n *Node) StateMinerSectors(ctx context.Context, maddr address.Address, sectors *bitfield.BitField, tsk TipSetKey) ([]*SectorOnChainInfo, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	s, err := n.c.StateMinerSectors(ctx, maddr, sectors, tsk)
	return s, n.wrap("StateMinerSectors", err)
}

func (n *Node) StateMinerPreCommitDepositForPower(ctx context.Context, maddr address.Address, pci miner.SectorPreCommitInfo, tsk TipSetKey) (big.Int, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	d, err := n.c.StateMinerPreCommitDepositForPower(ctx, maddr, pci, tsk)
	return d, n.wrap("StateMinerPreCommitDepositForPower", err)
}

func (n *Node) StateMinerInitialPledgeCollateral(ctx context.Context, maddr address.Address, pci miner.SectorPreCommitInfo, tsk TipSetKey) (big.Int, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	p, err := n.c.StateMinerInitialPledgeCollateral(ctx, maddr, pci, tsk)
	return p, n.wrap("StateMinerInitialPledgeCollateral", err)
}

func (n *Node) MpoolPushMessage(ctx context.Context, msg *Message, spec *MessageSendSpec) (*SignedMessage, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	sm, err := n.c.MpoolPushMessage(ctx, msg, spec)
	if err == nil && sm == nil {
		err = errors.New("the node answered null")
	}
	return sm, n.wrap("MpoolPushMessage", err)
}

// StateSearchMsg returns nil and no error when the message is not on chain (yet).
func (n *Node) StateSearchMsg(ctx context.Context, from TipSetKey, msg cid.Cid, limit abi.ChainEpoch, allowReplaced bool) (*MsgLookup, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	l, err := n.c.StateSearchMsg(ctx, from, msg, limit, allowReplaced)
	return l, n.wrap("StateSearchMsg", err)
}

// StateWaitMsg blocks until the message lands with confidence; ctx bounds it, not CallTimeout.
func (n *Node) StateWaitMsg(ctx context.Context, msg cid.Cid, confidence uint64, limit abi.ChainEpoch, allowReplaced bool) (*MsgLookup, error) {
	l, err := n.c.StateWaitMsg(ctx, msg, confidence, limit, allowReplaced)
	return l, n.wrap("StateWaitMsg", err)
}

// clientMethods lists the client's fields; the shape test compares it with FullNode.
func clientMethods() []reflect.StructField {
	t := reflect.TypeOf(fullNodeClient{})
	out := make([]reflect.StructField, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		out = append(out, t.Field(i))
	}
	return out
}
