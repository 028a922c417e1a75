package simchain

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/filecoin-project/go-address"
	"github.com/filecoin-project/go-state-types/abi"
	"github.com/filecoin-project/go-state-types/network"

	"github.com/ipfs-force-community/venus-cluster-go/sectormgr/sealverify"
)

// Options configure a chain. Zero values get the defaults named on each field.
type Options struct {
	// NetworkName is what StateGetNetworkParams reports; default "simnet".
	NetworkName string
	// NetworkVersion is the version of every epoch; default network.Version25. It decides which
	// miner methods exist (see the package doc).
	NetworkVersion network.Version
	// BlockDelaySecs is the advertised epoch duration; default 30. Run decides the real pace.
	BlockDelaySecs uint64
	// PreCommitChallengeDelay is the number of epochs between a pre-commit and its seed epoch;
	// default 150, Filecoin's value. NoChallengeDelay asks for 0 (the mock, whose seeds must not
	// wait for epochs nobody mines).
	PreCommitChallengeDelay abi.ChainEpoch
	// StartHeight is the head of a new chain; default 2000, so that ticket epochs up to 900 back
	// (the usual lookback) exist.
	StartHeight abi.ChainEpoch
	// Seed makes the chain's randomness and block CIDs; default a fixed value. A chain loaded
	// from StateFile keeps the seed it was created with.
	Seed []byte
	// GenesisTimestamp is the Unix time of epoch 0: block timestamps are GenesisTimestamp +
	// height × BlockDelaySecs. Default: chosen when the chain is created so that StartHeight is
	// now, as a node that is in sync shows it. A chain loaded from StateFile keeps its own.
	GenesisTimestamp uint64
	// Verifier checks seal proofs; default sealverify.Mock{}.
	Verifier sealverify.Verifier
	// Token, when set, must come with every HTTP request as `Authorization: Bearer <Token>`.
	Token string
	// StateFile, when set, is where the whole chain is saved after every change and loaded from
	// by New and Open.
	StateFile string
	// ReorgDepth is how many epochs Reorg may replace; 0 (the default) keeps no history and
	// refuses every Reorg. The chain keeps one copy of its state per epoch of that depth.
	ReorgDepth int
}

// NoChallengeDelay as Options.PreCommitChallengeDelay makes a sector's seed epoch its
// pre-commit's epoch (0 there means the default).
const NoChallengeDelay = abi.ChainEpoch(-1)

// DefaultNetworkName is the network name of a simulated chain: the one network on which a
// manager of the default build (mock proofs only) may run without --unsafe-mock-proofs.
const DefaultNetworkName = "simnet"

var defaultSeed = []byte("venus-cluster-go/simchain/seed/v1")

func (o Options) withDefaults() Options {
	if o.NetworkName == "" {
		o.NetworkName = DefaultNetworkName
	}
	if o.NetworkVersion == 0 {
		o.NetworkVersion = network.Version25
	}
	if o.BlockDelaySecs == 0 {
		o.BlockDelaySecs = 30
	}
	switch o.PreCommitChallengeDelay {
	case NoChallengeDelay:
		o.PreCommitChallengeDelay = 0
	case 0:
		o.PreCommitChallengeDelay = 150
	}
	if o.StartHeight == 0 {
		o.StartHeight = 2000
	}
	if len(o.Seed) == 0 {
		o.Seed = defaultSeed
	}
	if o.Verifier == nil {
		o.Verifier = sealverify.Mock{}
	}
	return o
}

func (o Options) check() error {
	if o.StartHeight < 0 {
		return fmt.Errorf("simchain: start height %d is negative; use 0 for the default (2000)", o.StartHeight)
	}
	if o.PreCommitChallengeDelay < 0 && o.PreCommitChallengeDelay != NoChallengeDelay {
		return fmt.Errorf("simchain: pre-commit challenge delay %d is negative; use 0 for the default (150) or NoChallengeDelay for none", o.PreCommitChallengeDelay)
	}
	if o.ReorgDepth < 0 {
		return fmt.Errorf("simchain: reorg depth %d is negative; use 0 for no reorgs", o.ReorgDepth)
	}
	return nil
}

// MinerSpec describes a storage-miner actor to create. Owner, Worker and Controls must be key
// addresses (f1 or f3): the node's wallet holds their keys. A zero Owner or Worker gets
// DefaultOwner or DefaultWorker of the actor.
type MinerSpec struct {
	Actor      abi.ActorID
	SectorSize abi.SectorSize
	Owner      address.Address
	Worker     address.Address
	Controls   []address.Address
	// Balance is the miner actor's balance at creation (default zero), which pays deposits
	// and pledges as well as the value of the messages.
	Balance abi.TokenAmount
}

// DefaultOwner is the owner key of a miner created without one: a secp256k1 address derived
// from the actor id.
func DefaultOwner(actor abi.ActorID) address.Address {
	a, err := address.NewSecp256k1Address(keyBytes("owner", actor, 0, 65))
	if err != nil {
		panic(err) // NewSecp256k1Address hashes any bytes; it cannot fail
	}
	return a
}

// DefaultWorker is the worker key of a miner created without one: a BLS address derived from
// the actor id.
func DefaultWorker(actor abi.ActorID) address.Address {
	return blsKey("worker", actor, 0)
}

// ControlKey is a deterministic BLS control address, the i-th of the actor, for tests and the
// mock that want controls without managing keys.
func ControlKey(actor abi.ActorID, i int) address.Address {
	return blsKey("control", actor, i)
}

func blsKey(role string, actor abi.ActorID, i int) address.Address {
	a, err := address.NewBLSAddress(keyBytes(role, actor, i, address.BlsPublicKeyBytes))
	if err != nil {
		panic(err) // the length is the one NewBLSAddress requires
	}
	return a
}

// keyBytes are n bytes of fake public key, fixed for a role, an actor and an index.
func keyBytes(role string, actor abi.ActorID, i, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	for counter := uint64(0); len(out) < n; counter++ {
		h := sha256.New()
		h.Write([]byte("venus-cluster-go/simchain/key/" + role))
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(actor)))
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(i)))
		h.Write(binary.BigEndian.AppendUint64(nil, counter))
		out = h.Sum(out)
	}
	return out[:n]
}
